"""A queue function that does nothing, run by the dev host with our host.json: what the host alone costs a
message (receive, invoke through the worker runtime, delete), the intake benchmark's second floor."""

import azure.functions as func

app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="%TRAINING_REQUESTS_QUEUE%", connection="AzureWebJobsStorage")
def noop(msg: func.QueueMessage) -> None:
    """Takes the message as `train_requests` does, and nothing else."""


@app.route(route="trainings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def ready(req: func.HttpRequest) -> func.HttpResponse:
    """Where `localdev.dev.start_app` sees a host up."""
    return func.HttpResponse("up")
