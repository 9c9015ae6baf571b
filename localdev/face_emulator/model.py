"""In-memory Large Face Lists, their faces and their trainings, against an injected clock (the groups are in
groups.py).

Training is modelled as a timeline fixed when it is submitted (queued, then running, then finished), so a status
read is a pure function of the clock: nothing runs in the background and a paused test sees a consistent world.
"""

from __future__ import annotations

import bisect
import math
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import FaceError

Clock = Callable[[], float]  # seconds since the epoch, UTC

# Training time against list size, from "Use the large-scale feature" (Microsoft Learn): 1k faces 1-2 s, 10k 5-10 s,
# 100k 1-2 min, 1M 10-30 min. Points are the middle of each documented range, except 1M, which takes the upper
# end (30 min) as the product brief does; between points the time is interpolated on a log-log scale.
TRAINING_SECONDS_BY_FACE_COUNT = ((1, 1.0), (1_000, 1.5), (10_000, 7.5), (100_000, 90.0), (1_000_000, 1800.0))
# A submitted training first waits in the service's queue ("may not be started immediately", v1.0 Train).
QUEUED_SHARE_OF_TRAINING = 0.05
MAX_QUEUED_SECONDS = 2.0


def training_seconds(face_count: int) -> float:
    """Unscaled training time for a list of `face_count` faces (see TRAINING_SECONDS_BY_FACE_COUNT)."""
    points = TRAINING_SECONDS_BY_FACE_COUNT
    count = max(face_count, points[0][0])
    if count >= points[-1][0]:
        (x0, y0), (x1, y1) = points[-2], points[-1]
    else:
        index = next(i for i, (x, _) in enumerate(points) if x > count)
        (x0, y0), (x1, y1) = points[index - 1], points[index]
    slope = (math.log(y1) - math.log(y0)) / (math.log(x1) - math.log(x0))
    return y0 * (count / x0) ** slope


@dataclass(frozen=True)
class TrainingVariance:
    """How a real resource's trainings vary around the documented times. Off by default, so that every training
    takes `training_seconds` exactly and the tests keep their timing.
    - `spread`: the standard deviation of a log-normal factor drawn for each training (0.1: about +-10%);
    - `speed`: the resource's own pace against the documented times (1.5: half as long again);
    - `drift`: the standard deviation of a random walk that pace takes in its log, one step a training (a resource
      that slows down, or speeds up, as its load changes);
    - `seed`: with the same seed, a container's n-th training lasts as long whatever else trains around it (the
      drift aside, which follows the order of all trainings)."""

    spread: float = 0.0
    speed: float = 1.0
    drift: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.spread <= 2 and 0 < self.speed <= 100 and 0 <= self.drift <= 1):
            raise ValueError("a training variance needs 0 <= spread <= 2, 0 < speed <= 100 and 0 <= drift <= 1")


class TrainingTimes:
    """Draws each training's duration from a `TrainingVariance`. The emulator and the benchmark's simulated Face use
    the same one, so that both vary alike, and strategies compared on one seed meet the same durations."""

    def __init__(self, variance: TrainingVariance = TrainingVariance()) -> None:
        self.variance = variance
        self._drift = random.Random(variance.seed)
        self._log_speed = math.log(variance.speed)
        self._count: dict[str, int] = {}

    def seconds(self, entries: int, container: str) -> float:
        """The duration, unscaled, of `container`'s next training over `entries` faces or persons."""
        number = self._count[container] = self._count.get(container, -1) + 1
        if self.variance.drift:
            self._log_speed += self._drift.gauss(0.0, self.variance.drift)
        noise = 0.0
        if self.variance.spread:
            noise = random.Random(f"{self.variance.seed}:{container}:{number}").gauss(0.0, self.variance.spread)
        return training_seconds(entries) * math.exp(self._log_speed + noise)


def face_count_for(seconds: float) -> int:
    """The smallest list whose training takes at least `seconds` (unscaled): the inverse of `training_seconds`."""
    low, high = 1, 1_000_000
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if training_seconds(middle) < seconds else (low, middle)
    return low


@dataclass
class Training:
    training_id: str
    collection: str  # "largefacelists", "largepersongroups" or "persongroups"
    container_id: str
    api_version: str
    entries: int  # faces of a list, persons of a group: what its training time follows
    submitted_at: float
    started_at: float
    finished_at: float
    failure_message: str | None

    def status(self, now: float) -> str:
        """One of notStarted, running, succeeded, failed (the v1.1+ spelling; callers translate per version)."""
        if now < self.started_at:
            return "notStarted"
        if now < self.finished_at:
            return "running"
        return "failed" if self.failure_message else "succeeded"

    def last_action_at(self, now: float) -> float:
        return max(t for t in (self.submitted_at, self.started_at, self.finished_at) if t <= now)


@dataclass
class Face:
    persisted_face_id: str
    user_data: str | None


class Trainable:
    """What a trained container has: its creation time and its trainings, the last of which its status reports."""

    created_at: float
    trainings: list[Training]

    def current_training(self) -> Training | None:
        return self.trainings[-1] if self.trainings else None

    def last_success_at(self, now: float) -> float | None:
        done = [t.finished_at for t in self.trainings if t.status(now) == "succeeded"]
        return max(done) if done else None


@dataclass
class LargeFaceList(Trainable):
    list_id: str
    name: str
    user_data: str | None
    recognition_model: str
    created_at: float
    faces: dict[str, Face] = field(default_factory=dict)
    # Kept sorted, because listing pages through faces in ascending id order from `start`.
    face_ids: list[str] = field(default_factory=list)
    trainings: list[Training] = field(default_factory=list)

    def add_face(self, user_data: str | None) -> Face:
        face = Face(str(uuid.uuid4()), user_data)
        self.faces[face.persisted_face_id] = face
        bisect.insort(self.face_ids, face.persisted_face_id)
        return face

    def add_faces(self, count: int) -> None:
        """Many faces at once: one sort after appending, where `add_face`'s per-face insert would be quadratic."""
        for _ in range(count):
            face = Face(str(uuid.uuid4()), None)
            self.faces[face.persisted_face_id] = face
            self.face_ids.append(face.persisted_face_id)
        self.face_ids.sort()

    def delete_face(self, persisted_face_id: str) -> None:
        del self.faces[persisted_face_id]
        del self.face_ids[bisect.bisect_left(self.face_ids, persisted_face_id)]

    def page_of_faces(self, start: str | None, top: int) -> list[Face]:
        return [self.faces[i] for i in page_of_ids(self.face_ids, start, top)]


def page_of_ids(sorted_ids: list[str], start: str | None, top: int) -> list[str]:
    """The ids after `start`, at most `top`: how every listing pages."""
    first = bisect.bisect_right(sorted_ids, start) if start else 0
    return sorted_ids[first:first + top]


@dataclass
class TrainingFailurePlan:
    """Makes a list's next trainings fail, as a broken or empty list would; `remaining` None means always."""

    message: str
    remaining: int | None


def new_training(collection: str, container_id: str, entries: int, api_version: str, now: float, time_scale: float,
                 failure_message: str | None, times: TrainingTimes) -> Training:
    """The timeline of a training submitted now over `entries` faces or persons, as long as `times` draws it; what is
    added after this moment is not part of it. `failure_message` makes it fail, as an empty container's training
    does."""
    total = times.seconds(entries, f"{collection}/{container_id}") / time_scale
    queued = min(total * QUEUED_SHARE_OF_TRAINING, MAX_QUEUED_SECONDS / time_scale)
    return Training(
        training_id=str(uuid.uuid4()),
        collection=collection,
        container_id=container_id,
        api_version=api_version,
        entries=entries,
        submitted_at=now,
        started_at=now + queued,
        finished_at=now + total,
        failure_message=failure_message,
    )


# What lists and groups share in their JSON and their updates.

def container_json(id_field: str, container_id: str, container: Any, return_recognition_model: bool) -> dict:
    """A list or group as Get answers it: its id under the kind's field, name, userData (absent when unset: the
    schemas type it as a string) and, when asked, its recognition model."""
    body = {id_field: container_id, "name": container.name}
    if container.user_data is not None:
        body["userData"] = container.user_data
    if return_recognition_model:
        body["recognitionModel"] = container.recognition_model
    return body


def face_json(face: Face) -> dict[str, Any]:
    body = {"persistedFaceId": face.persisted_face_id}
    if face.user_data is not None:
        body["userData"] = face.user_data
    return body


def update_name_and_user_data(target: Any, body: dict[str, Any]) -> None:
    """The update of a list, a group or a person: either field, not neither."""
    if body.get("name") is None and body.get("userData") is None:
        raise FaceError.bad_argument("Both 'name' and 'userData' are empty.")
    if body.get("name") is not None:
        target.name = body["name"]
    if body.get("userData") is not None:
        target.user_data = body["userData"]
