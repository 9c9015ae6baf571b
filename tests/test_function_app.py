"""The real decorated functions, called with real azure.functions trigger objects, on the local world."""

from __future__ import annotations

import json
import time

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from orchestrator import runtime
from tests.conftest import FaceHttp
from tests.orchestrator_world import app_settings, drain_events, face_calls, function_app, queue_message, request


@pytest.fixture
def app_env(world, emulator, monkeypatch):
    settings = app_settings(world)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    runtime.current.cache_clear()
    yield settings
    runtime.current.cache_clear()


def http_get(list_id: str | None) -> func.HttpRequest:
    route = {"listId": list_id} if list_id else {}
    return func.HttpRequest(method="GET", url=f"http://localhost/api/trainings/{list_id or ''}", body=b"",
                            route_params=route)


def test_the_three_functions_are_bound_to_their_settings() -> None:
    functions = {f.get_function_name(): json.loads(f.get_function_json()) for f in function_app.app.get_functions()}
    trigger = {name: next(b for b in spec["bindings"] if b["direction"] == "IN") for name, spec in functions.items()}
    assert trigger["train_requests"]["queueName"] == "%TRAINING_REQUESTS_QUEUE%"
    assert trigger["train_requests"]["connection"] == "AzureWebJobsStorage"
    assert trigger["poll_trainings"]["schedule"] == "%POLL_SCHEDULE%"
    assert trigger["training_status"]["route"] == "trainings/{listId?}"
    assert trigger["training_status"]["authLevel"] == "FUNCTION"


def test_queue_then_timer_then_http_on_the_real_functions(app_env, world, emulator, face_v12: FaceHttp,
                                                          list_id: str) -> None:
    face_v12.create_list(list_id)
    face_v12.add_face(list_id)
    function_app.train_requests(queue_message(request(list_id, "r1"), "m1"))
    assert face_calls(emulator)["train"] == 1

    listed = function_app.training_status(http_get(None))
    assert listed.status_code == 200
    assert [t["listId"] for t in json.loads(listed.get_body())["trainings"]] == [list_id]

    time.sleep(2.1)  # the first poll is due 2 s after submission, on the real clock
    function_app.poll_trainings(TimerRequest(past_due=False))
    (event,) = drain_events(world, app_env)
    assert event["type"] == "Face.LargeFaceList.TrainingSucceeded"

    one = function_app.training_status(http_get(list_id))
    assert json.loads(one.get_body())["phase"] == "idle"


@pytest.mark.parametrize("list_id, status", [("never-seen", 404), ("Not-A-Valid-Id", 400)])
def test_the_status_function_answers_unknown_and_invalid_ids(app_env, list_id: str, status: int) -> None:
    response = function_app.training_status(http_get(list_id))
    assert response.status_code == status
    assert json.loads(response.get_body())["error"]


def test_a_bad_message_through_the_queue_function_is_rejected_not_raised(app_env, world) -> None:
    function_app.train_requests(queue_message(b"\x00 not json", "m-bad"))
    (event,) = drain_events(world, app_env)
    assert event["type"] == "Face.LargeFaceList.TrainingRequestRejected"


def test_a_bad_setting_stops_the_app_with_its_name(app_env, monkeypatch) -> None:
    monkeypatch.setenv("FACE_ENDPOINT", "http://face.example.com")
    runtime.current.cache_clear()
    with pytest.raises(Exception, match="FACE_ENDPOINT"):
        function_app.poll_trainings(TimerRequest(past_due=False))
