"""Training: asynchronous, timed by list size, per-version status spellings, failure and concurrency rules."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
import requests

from localdev.face_emulator.contract import Contract
from localdev.face_emulator.model import (MAX_QUEUED_SECONDS, QUEUED_SHARE_OF_TRAINING, TrainingTimes,
                                          TrainingVariance, training_seconds)
from orchestrator.iso_time import from_iso
from tests.face_world import TIME_SCALE, FaceHttp, assert_face_error

CONTRACT = Contract()
TERMINAL = {"succeeded", "failed"}


def seed_faces(control: str, list_id: str, count: int) -> None:
    response = requests.post(f"{control}/largefacelists/{list_id}/faces", json={"count": count}, timeout=30)
    assert response.status_code == 200, response.text


def watch_training(face: FaceHttp, list_id: str, timeout_seconds: float = 30) -> list[tuple[float, dict]]:
    """Every status read until the training ends, with the monotonic time of each."""
    seen = []
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        response = face.call("GET", f"/largefacelists/{list_id}/training")
        assert response.status_code == 200, response.text
        seen.append((time.monotonic(), response.json()))
        if response.json()["status"] in TERMINAL:
            return seen
        time.sleep(0.01)
    raise AssertionError(f"training of {list_id} did not end within {timeout_seconds} s")


def parse(timestamp: str) -> datetime:
    return from_iso(timestamp)


def test_status_is_not_trained_before_the_first_training(face: FaceHttp, list_id: str) -> None:
    face.create_list(list_id)
    assert_face_error(face.call("GET", f"/largefacelists/{list_id}/training"), 404, "LargeFaceListNotTrained")


def test_training_moves_through_every_status_with_the_spec_spelling(face: FaceHttp, emulator: str,
                                                                      list_id: str) -> None:
    face.create_list(list_id)
    seed_faces(emulator, list_id, 20_000)  # about 18 s in Azure, 0.9 s here
    train = face.call("POST", f"/largefacelists/{list_id}/train")
    assert train.status_code == 202 and train.content == b""
    if face.api_version == "v1.0":
        assert "operation-Location" not in train.headers  # v1.0 declares no response header
    else:
        assert train.headers["operation-Location"] == f"{face.base}/largefacelists/{list_id}/training"

    seen = watch_training(face, list_id)
    statuses = [body["status"] for _, body in seen]
    queued = "nonstarted" if face.api_version == "v1.0" else "notStarted"
    assert statuses[0] == queued
    assert "running" in statuses and statuses[-1] == "succeeded"
    assert set(statuses) <= set(CONTRACT.status_values(face.api_version))

    final = seen[-1][1]
    assert final["message"] is None
    assert parse(final["createdDateTime"]) <= parse(final["lastActionDateTime"])
    assert final["lastSuccessfulTrainingDateTime"] == final["lastActionDateTime"]


def test_training_time_follows_the_size_model_divided_by_the_time_scale(face_v12: FaceHttp, emulator: str,
                                                                         list_id: str) -> None:
    face_v12.create_list(list_id)
    seed_faces(emulator, list_id, 50_000)
    expected = training_seconds(50_000) / TIME_SCALE
    submitted = time.monotonic()
    assert face_v12.call("POST", f"/largefacelists/{list_id}/train").status_code == 202
    seen = watch_training(face_v12, list_id)
    first_running = next(t for t, body in seen if body["status"] == "running")
    finished = seen[-1][0]
    assert expected <= finished - submitted <= expected + 1.0  # never early; late only by how we observe
    queued = min(expected * QUEUED_SHARE_OF_TRAINING, MAX_QUEUED_SECONDS / TIME_SCALE)
    assert first_running - submitted >= queued - 0.05

    timeline = requests.get(f"{emulator}/trainings", timeout=5).json()
    assert timeline[0]["durationSeconds"] == pytest.approx(expected, abs=0.01)
    assert timeline[0]["faceCount"] == 50_000


def test_the_size_model_matches_the_documented_times() -> None:
    # Microsoft Learn, "Use the large-scale feature": 1k 1-2 s, 10k 5-10 s, 100k 1-2 min, 1M 10-30 min.
    assert 1 <= training_seconds(1_000) <= 2
    assert 5 <= training_seconds(10_000) <= 10
    assert 60 <= training_seconds(100_000) <= 120
    assert training_seconds(1_000_000) == pytest.approx(1800)
    sizes = [0, 10, 999, 5_000, 70_000, 400_000, 1_000_000]
    assert [training_seconds(n) for n in sizes] == sorted(training_seconds(n) for n in sizes)


def test_training_an_empty_list_fails_with_a_message(face: FaceHttp, list_id: str) -> None:
    face.create_list(list_id)
    assert face.call("POST", f"/largefacelists/{list_id}/train").status_code == 202
    final = watch_training(face, list_id)[-1][1]
    assert final["status"] == "failed"
    assert "no persisted face" in final["message"]
    assert final["lastSuccessfulTrainingDateTime"] is None


def test_a_list_can_be_told_to_fail_its_next_training(face: FaceHttp, emulator: str, list_id: str) -> None:
    face.create_list(list_id)
    face.add_face(list_id)
    requests.put(f"{emulator}/largefacelists/{list_id}/training-failure",
                 json={"message": "Model build failed.", "count": 1}, timeout=5).raise_for_status()
    face.call("POST", f"/largefacelists/{list_id}/train")
    failed = watch_training(face, list_id)[-1][1]
    assert (failed["status"], failed["message"]) == ("failed", "Model build failed.")

    face.call("POST", f"/largefacelists/{list_id}/train")
    recovered = watch_training(face, list_id)[-1][1]
    assert recovered["status"] == "succeeded"
    assert recovered["message"] is None


def test_failing_every_training_until_cleared(face_v12: FaceHttp, emulator: str, list_id: str) -> None:
    face_v12.create_list(list_id)
    face_v12.add_face(list_id)
    failure = f"{emulator}/largefacelists/{list_id}/training-failure"
    requests.put(failure, json={}, timeout=5).raise_for_status()
    for _ in range(2):
        face_v12.call("POST", f"/largefacelists/{list_id}/train")
        assert watch_training(face_v12, list_id)[-1][1]["status"] == "failed"
    requests.delete(failure, timeout=5).raise_for_status()
    face_v12.call("POST", f"/largefacelists/{list_id}/train")
    assert watch_training(face_v12, list_id)[-1][1]["status"] == "succeeded"


@pytest.mark.parametrize("code", ["LargeFaceListTrainingNotFinished", "ConcurrentOperationConflict"])
def test_train_during_a_training_conflicts_by_default(face: FaceHttp, emulator: str, list_id: str,
                                                      code: str) -> None:
    requests.patch(f"{emulator}/config", json={"trainConflictCode": code}, timeout=5).raise_for_status()
    face.create_list(list_id)
    seed_faces(emulator, list_id, 20_000)
    assert face.call("POST", f"/largefacelists/{list_id}/train").status_code == 202
    assert_face_error(face.call("POST", f"/largefacelists/{list_id}/train"), 409, code)
    assert watch_training(face, list_id)[-1][1]["status"] == "succeeded"
    assert face.call("POST", f"/largefacelists/{list_id}/train").status_code == 202  # allowed again once done


def test_train_during_a_training_can_be_accepted_and_keeps_the_running_one(face: FaceHttp, emulator: str,
                                                                           list_id: str) -> None:
    requests.patch(f"{emulator}/config", json={"trainWhileTraining": "accept"}, timeout=5).raise_for_status()
    face.create_list(list_id)
    seed_faces(emulator, list_id, 20_000)
    assert face.call("POST", f"/largefacelists/{list_id}/train").status_code == 202
    again = face.call("POST", f"/largefacelists/{list_id}/train")
    assert again.status_code == 202
    if face.api_version != "v1.0":
        assert again.headers["operation-Location"].endswith(f"/largefacelists/{list_id}/training")
    assert len(requests.get(f"{emulator}/trainings", timeout=5).json()) == 1


def test_faces_added_during_a_training_are_not_in_its_result(face_v12: FaceHttp, emulator: str,
                                                             list_id: str) -> None:
    face_v12.create_list(list_id)
    seed_faces(emulator, list_id, 20_000)
    face_v12.call("POST", f"/largefacelists/{list_id}/train")
    face_v12.add_face(list_id)
    watch_training(face_v12, list_id)
    face_v12.call("POST", f"/largefacelists/{list_id}/train")
    watch_training(face_v12, list_id)
    first, second = requests.get(f"{emulator}/trainings", timeout=5).json()
    assert (first["faceCount"], second["faceCount"]) == (20_000, 20_001)


def test_the_training_timeline_is_exposed(face: FaceHttp, emulator: str, list_id: str) -> None:
    face.create_list(list_id)
    face.add_face(list_id)
    face.call("POST", f"/largefacelists/{list_id}/train")
    running = requests.get(f"{emulator}/trainings", timeout=5).json()
    assert running[0]["finishedAt"] is None
    final = watch_training(face, list_id)[-1][1]
    (done,) = requests.get(f"{emulator}/trainings", timeout=5).json()
    assert done["listId"] == list_id and done["apiVersion"] == face.api_version
    assert done["status"] == "succeeded"
    assert parse(done["submittedAt"]) <= parse(done["startedAt"]) <= parse(done["finishedAt"])
    assert done["finishedAt"] == final["lastActionDateTime"]


def test_trainings_vary_only_when_asked_and_then_as_the_seed_says() -> None:
    steady = TrainingTimes()
    assert [steady.seconds(50_000, "lfl") for _ in range(3)] == [training_seconds(50_000)] * 3
    varied = TrainingVariance(spread=0.25, seed=5)
    first, again = TrainingTimes(varied), TrainingTimes(varied)
    durations = [first.seconds(50_000, "a"), first.seconds(50_000, "b"), first.seconds(50_000, "a")]
    assert len(set(durations)) == 3 and all(0.3 < d / training_seconds(50_000) < 3 for d in durations)
    # A container's n-th training lasts as long whatever trains around it: "b" first, then "a" twice.
    assert [again.seconds(50_000, "b"), again.seconds(50_000, "a"), again.seconds(50_000, "a")] == [
        durations[1], durations[0], durations[2]]
    slow = TrainingTimes(TrainingVariance(speed=1.5))
    assert slow.seconds(10_000, "x") == pytest.approx(1.5 * training_seconds(10_000))
    drifting = TrainingTimes(TrainingVariance(drift=0.2, seed=1))
    walk = [drifting.seconds(10_000, "x") / training_seconds(10_000) for _ in range(20)]
    assert len(set(walk)) == 20 and max(walk) / min(walk) > 1.5  # the pace wanders, training after training
    for wrong in ({"spread": -0.1}, {"speed": 0}, {"drift": 2}):
        with pytest.raises(ValueError):
            TrainingVariance(**wrong)


def test_the_emulator_varies_its_trainings_as_its_control_surface_says(face_v12: FaceHttp, emulator: str,
                                                                      list_id: str) -> None:
    face_v12.create_list(list_id)
    seed_faces(emulator, list_id, 20_000)
    settings = requests.patch(f"{emulator}/config", json={"trainingSpread": 0.25, "trainingSeed": 9},
                              timeout=5).json()
    assert settings["trainingSpread"] == 0.25 and settings["trainingSpeed"] == 1.0
    expected = TrainingTimes(TrainingVariance(spread=0.25, seed=9))
    for _ in range(2):
        assert face_v12.call("POST", f"/largefacelists/{list_id}/train").status_code == 202
        watch_training(face_v12, list_id)
    durations = [t["durationSeconds"] for t in requests.get(f"{emulator}/trainings", timeout=5).json()]
    assert durations == pytest.approx([expected.seconds(20_000, f"largefacelists/{list_id}") / TIME_SCALE
                                       for _ in range(2)], abs=0.01)
    refused = requests.patch(f"{emulator}/config", json={"trainingSpread": "wide"}, timeout=5)
    assert refused.status_code == 400 and "trainingSpread" in refused.text
