"""The emulator's Person Groups and Large Person Groups over REST, in every API version: groups, persons, their
faces, training and its failures, quotas and error codes."""

from __future__ import annotations

import time

import pytest
import requests

from localdev.face_emulator.groups import MAX_FACES_PER_PERSON
from tests.face_world import FaceHttp, assert_face_error, image_bytes

KINDS = {"largepersongroups": "LargePersonGroup", "persongroups": "PersonGroup"}


@pytest.fixture(params=list(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def add_person(face: FaceHttp, kind: str, group_id: str, name: str = "ada") -> str:
    response = face.call("POST", f"/{kind}/{group_id}/persons", json={"name": name})
    assert response.status_code == 200, response.text
    return response.json()["personId"]


def add_person_face(face: FaceHttp, kind: str, group_id: str, person_id: str, **params) -> requests.Response:
    return face.call("POST", f"/{kind}/{group_id}/persons/{person_id}/persistedfaces", params=params,
                     data=image_bytes(), headers={"Content-Type": "application/octet-stream"})


def create_group(face: FaceHttp, kind: str, group_id: str) -> None:
    response = face.call("PUT", f"/{kind}/{group_id}", json={"name": group_id, "userData": "team"})
    assert response.status_code == 200, response.text


def trained_status(face: FaceHttp, kind: str, group_id: str, timeout_seconds: float = 10) -> dict:
    deadline = time.monotonic() + timeout_seconds
    while True:
        status = face.call("GET", f"/{kind}/{group_id}/training").json()
        if status["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_a_group_s_whole_life(face: FaceHttp, kind: str, list_id: str) -> None:
    group_id = list_id
    create_group(face, kind, group_id)
    id_field = "largePersonGroupId" if kind == "largepersongroups" else "personGroupId"
    assert face.call("GET", f"/{kind}/{group_id}").json() == {id_field: group_id, "name": group_id,
                                                              "userData": "team"}
    person_id = add_person(face, kind, group_id)
    face_id = add_person_face(face, kind, group_id, person_id, userData="front").json()["persistedFaceId"]
    person = face.call("GET", f"/{kind}/{group_id}/persons/{person_id}").json()
    assert person == {"personId": person_id, "name": "ada", "persistedFaceIds": [face_id]}
    assert face.call("GET", f"/{kind}/{group_id}/persons/{person_id}/persistedfaces/{face_id}").json() == {
        "persistedFaceId": face_id, "userData": "front"}
    assert face.call("PATCH", f"/{kind}/{group_id}/persons/{person_id}", json={"name": "ada l"}).status_code == 200
    assert [p["name"] for p in face.call("GET", f"/{kind}/{group_id}/persons").json()] == ["ada l"]

    train = face.call("POST", f"/{kind}/{group_id}/train")
    assert train.status_code == 202 and train.content == b""
    if face.api_version == "v1.0":
        assert "operation-Location" not in train.headers
    else:
        assert train.headers["operation-Location"].endswith(f"/face/{face.api_version}/{kind}/{group_id}/training")
    status = trained_status(face, kind, group_id)
    assert status["status"] == "succeeded" and status["lastSuccessfulTrainingDateTime"]

    assert face.call("DELETE", f"/{kind}/{group_id}/persons/{person_id}/persistedfaces/{face_id}").status_code == 200
    assert face.call("DELETE", f"/{kind}/{group_id}/persons/{person_id}").status_code == 200
    assert face.call("DELETE", f"/{kind}/{group_id}").status_code == 200
    assert_face_error(face.call("GET", f"/{kind}/{group_id}"), 404, f"{KINDS[kind]}NotFound")


def test_each_kind_names_its_own_errors(face_v12: FaceHttp, kind: str, list_id: str) -> None:
    noun = KINDS[kind]
    assert_face_error(face_v12.call("GET", f"/{kind}/{list_id}/training"), 404, f"{noun}NotFound")
    create_group(face_v12, kind, list_id)
    assert_face_error(face_v12.call("PUT", f"/{kind}/{list_id}", json={"name": "again"}), 409, f"{noun}Exists")
    assert_face_error(face_v12.call("GET", f"/{kind}/{list_id}/training"), 404, f"{noun}NotTrained")
    missing = "00000000-0000-4000-8000-000000000000"
    assert_face_error(face_v12.call("GET", f"/{kind}/{list_id}/persons/{missing}"), 404, "PersonNotFound")
    person_id = add_person(face_v12, kind, list_id)
    assert_face_error(face_v12.call("GET", f"/{kind}/{list_id}/persons/{person_id}/persistedfaces/{missing}"), 404,
                      "PersistedFaceNotFound")
    add_person_face(face_v12, kind, list_id, person_id)
    # A group and a list with one id are different containers.
    assert_face_error(face_v12.call("GET", f"/largefacelists/{list_id}"), 404, "LargeFaceListNotFound")


def test_a_second_train_while_one_runs_is_a_conflict_with_the_kind_s_code(face_v12: FaceHttp, kind: str, list_id: str,
                                                                         emulator: str) -> None:
    create_group(face_v12, kind, list_id)
    requests.post(f"{emulator}/{kind}/{list_id}/persons", json={"count": 10_000, "facesPerPerson": 1},
                  timeout=30).raise_for_status()
    assert face_v12.call("POST", f"/{kind}/{list_id}/train").status_code == 202
    assert_face_error(face_v12.call("POST", f"/{kind}/{list_id}/train"), 409, f"{KINDS[kind]}TrainingNotFinished")
    timeline = [t for t in requests.get(f"{emulator}/trainings", timeout=5).json() if t["kind"] == kind]
    id_field = "largePersonGroupId" if kind == "largepersongroups" else "personGroupId"
    assert [(t[id_field], t["personCount"]) for t in timeline] == [(list_id, 10_000)]


@pytest.mark.parametrize("persons, message", [(0, "no person"), (1, "no persisted face")])
def test_a_group_without_persons_or_faces_fails_its_training(face: FaceHttp, kind: str, list_id: str, persons: int,
                                                             message: str) -> None:
    create_group(face, kind, list_id)
    for _ in range(persons):
        add_person(face, kind, list_id)
    assert face.call("POST", f"/{kind}/{list_id}/train").status_code == 202
    status = trained_status(face, kind, list_id)
    assert status["status"] == "failed" and message in status["message"]


def test_a_person_holds_at_most_248_faces(face_v12: FaceHttp, kind: str, list_id: str, emulator: str) -> None:
    create_group(face_v12, kind, list_id)
    requests.post(f"{emulator}/{kind}/{list_id}/persons", json={"count": 1, "facesPerPerson": MAX_FACES_PER_PERSON},
                  timeout=30).raise_for_status()
    (person,) = face_v12.call("GET", f"/{kind}/{list_id}/persons").json()
    assert len(person["persistedFaceIds"]) == MAX_FACES_PER_PERSON
    assert_face_error(add_person_face(face_v12, kind, list_id, person["personId"]), 403, "QuotaExceeded")


@pytest.mark.parametrize("kind_name, per_group", [("persongroups", 10_000), ("largepersongroups", None)])
def test_persons_per_group_follow_the_tier(face_v12: FaceHttp, list_id: str, emulator: str, kind_name: str,
                                          per_group: int | None) -> None:
    create_group(face_v12, kind_name, list_id)
    if per_group is not None:  # S0: a Person Group holds 10,000 persons
        requests.post(f"{emulator}/{kind_name}/{list_id}/persons", json={"count": per_group, "facesPerPerson": 0},
                      timeout=60).raise_for_status()
        assert_face_error(face_v12.call("POST", f"/{kind_name}/{list_id}/persons", json={"name": "one more"}), 403,
                          "QuotaExceeded")
    requests.patch(f"{emulator}/config", json={"tier": "F0"}, timeout=5).raise_for_status()
    other = f"{list_id}-f0"
    create_group(face_v12, kind_name, other)
    # F0: 1,000 persons in all groups of a kind (the S0 group above already holds more, so none fits).
    if per_group is None:
        requests.post(f"{emulator}/{kind_name}/{other}/persons", json={"count": 1000, "facesPerPerson": 0},
                      timeout=30).raise_for_status()
    assert_face_error(face_v12.call("POST", f"/{kind_name}/{other}/persons", json={"name": "one more"}), 403,
                      "QuotaExceeded")


def test_a_planned_failure_fails_a_group_s_training(face_v12: FaceHttp, kind: str, list_id: str,
                                                    emulator: str) -> None:
    create_group(face_v12, kind, list_id)
    person_id = add_person(face_v12, kind, list_id)
    add_person_face(face_v12, kind, list_id, person_id)
    requests.put(f"{emulator}/{kind}/{list_id}/training-failure", json={"message": "broken", "count": 1},
                 timeout=5).raise_for_status()
    face_v12.call("POST", f"/{kind}/{list_id}/train")
    assert trained_status(face_v12, kind, list_id) == {**trained_status(face_v12, kind, list_id),
                                                       "status": "failed", "message": "broken"}
