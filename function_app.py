"""The function app (Python v2 model): triggers bound to the orchestrator, and nothing else."""

import azure.functions as func

from orchestrator import runtime

runtime.check_settings()
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.queue_trigger(arg_name="message", queue_name="%TRAINING_REQUESTS_QUEUE%", connection="AzureWebJobsStorage")
def train_requests(message: func.QueueMessage) -> None:
    runtime.current().accept(message.get_body(), message.id)


@app.timer_trigger(arg_name="timer", schedule="%POLL_SCHEDULE%", run_on_startup=False, use_monitor=False)
def poll_trainings(timer: func.TimerRequest) -> None:
    runtime.current().tick()


@app.route(route="trainings/{first?}/{second?}", methods=["GET"])
def training_status(req: func.HttpRequest) -> func.HttpResponse:
    return runtime.status_response(req.route_params.get("first"), req.route_params.get("second"))
