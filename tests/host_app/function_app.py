"""A tiny function app of the dev host's own tests: each function reports what it saw to the `seen` queue."""

import json
import os
import time

import azure.functions as func
from azure.storage.queue import QueueClient

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


def report(**fields) -> None:
    queue = QueueClient.from_connection_string(os.environ["AzureWebJobsStorage"], os.environ["SEEN_QUEUE"])
    queue.send_message(json.dumps(fields, default=str))


@app.queue_trigger(arg_name="msg", queue_name="%WORK_QUEUE%", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    body = msg.get_body().decode("utf-8", errors="replace")
    report(function="work", id=msg.id, body=body, dequeueCount=msg.dequeue_count, popReceipt=msg.pop_receipt,
           insertionTime=msg.insertion_time, expirationTime=msg.expiration_time, started=time.time())
    if "sleep" in body:
        time.sleep(float(body.split()[1]))
    if "fail loudly" in body:
        raise RuntimeError("loud " * 100_000)
    if "fail" in body:
        raise RuntimeError("asked to fail")


@app.timer_trigger(arg_name="timer", schedule="%TICK_SCHEDULE%", run_on_startup=False, use_monitor=True)
def tick(timer: func.TimerRequest) -> None:
    report(function="tick", host=os.environ.get("HOST_TAG"), pastDue=timer.past_due, status=timer.schedule_status,
           at=time.time())
    time.sleep(float(os.environ.get("TICK_SECONDS", "0")))


@app.route(route="things/{name?}", methods=["GET", "POST"])
def things(req: func.HttpRequest) -> func.HttpResponse:
    seen = {"name": req.route_params.get("name"), "q": req.params.get("q"), "method": req.method,
            "tag": req.headers.get("x-tag"), "body": req.get_body().decode()}
    return func.HttpResponse(json.dumps(seen), status_code=201 if req.method == "POST" else 200,
                             headers={"x-seen": "yes"}, mimetype="application/json")


@app.route(route="open", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def open_door(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("open")


@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True, use_monitor=False)
def at_startup(timer: func.TimerRequest) -> None:
    if os.environ.get("REPORT_STARTUP"):
        report(function="at_startup", pastDue=timer.past_due)
