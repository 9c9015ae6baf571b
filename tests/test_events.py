"""Events per container kind: type, subject and the field naming the container. Pure."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from orchestrator.containers import Container, Kind
from orchestrator.events import EventType, Rejection, TrainingOutcome, rejection_event, terminal_event

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("kind, type_name, field, subject", [
    (Kind.LARGE_FACE_LIST, "Face.LargeFaceList.TrainingSucceeded", "listId", "largefacelists/staff"),
    (Kind.LARGE_PERSON_GROUP, "Face.LargePersonGroup.TrainingSucceeded", "largePersonGroupId",
     "largepersongroups/staff"),
    (Kind.PERSON_GROUP, "Face.PersonGroup.TrainingSucceeded", "personGroupId", "persongroups/staff"),
])
def test_a_terminal_event_says_its_kind(kind: Kind, type_name: str, field: str, subject: str) -> None:
    container = Container(kind, "staff")
    outcome = TrainingOutcome(f"{container.key}/run-1", container, "v1.2", None, "succeeded", ("r1",), NOW, NOW)
    event = terminal_event(EventType.SUCCEEDED, outcome).to_cloud_event()
    assert (event["type"], event["subject"], event["data"][field]) == (type_name, subject, "staff")
    assert event["id"] == f"{container.key}/run-1/outcome"
    others = {k.request_field for k in Kind} - {field}
    assert not others & set(event["data"])


def test_a_large_face_list_event_is_what_it_was_before_there_were_other_kinds() -> None:
    outcome = TrainingOutcome("celebs/run-3", Container.large_face_list("celebs"), "v1.2", None, "failed", ("r1",),
                              NOW, NOW, "TrainingFailed", "no faces")
    event = terminal_event(EventType.FAILED, outcome).to_cloud_event()
    assert event["id"] == "celebs/run-3/outcome" and event["type"] == "Face.LargeFaceList.TrainingFailed"
    assert list(event["data"]) == ["runId", "listId", "apiVersion", "operationLocation", "status", "requestIds",
                                   "submittedAt", "finishedAt", "durationSeconds", "errorCode", "errorMessage"]


def test_a_rejection_names_the_kind_it_could_read_and_a_list_otherwise() -> None:
    group = rejection_event(Rejection("bad", "m1", Container(Kind.PERSON_GROUP, "team"), "r1"), NOW).to_cloud_event()
    assert (group["type"], group["subject"]) == ("Face.PersonGroup.TrainingRequestRejected", "persongroups/team")
    assert group["data"] == {"reason": "bad", "messageId": "m1", "personGroupId": "team", "requestId": "r1"}
    unknown = rejection_event(Rejection("bad", "m2", None, None), NOW).to_cloud_event()
    assert (unknown["type"], unknown["subject"]) == ("Face.LargeFaceList.TrainingRequestRejected",
                                                     "largefacelists/unknown")
    assert unknown["data"] == {"reason": "bad", "messageId": "m2", "listId": None, "requestId": None}
