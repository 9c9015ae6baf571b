"""What each Large Face List operation does, apart from HTTP, and the training and faces of the groups (whose own
operations are in groups.py).

Behaviour the contract does not state, each chosen here and listed in docs/local-world.md:
- Train while a training runs answers 409 with the kind's `…TrainingNotFinished` (docs list the list's code
  without naming the call; a Person Group's is on the old v1.0 Train page), or `ConcurrentOperationConflict` when
  so configured; `train_while_training="accept"` answers 202 and keeps the running training instead.
- Training an empty list fails ("no persisted face", v1.0 TrainingStatus description).
- v1.0 spells the queued status `nonstarted`, as its enum does (its description says `notstarted`; switchable).
- `lastActionDateTime` is the last status change of the current training; `lastSuccessfulTrainingDateTime` and
  `message` are null until there is one, as the descriptions say ("could be null").
- Every decodable JPEG/PNG/GIF/BMP image holds exactly one face filling the image; an image under 36x36 pixels, or
  a `targetFace` outside it, holds none.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable

from PIL import Image, UnidentifiedImageError

from .errors import FaceError, check_start
from .groups import KINDS, GroupService
from .model import (Clock, Face, LargeFaceList, Trainable, Training, TrainingFailurePlan, TrainingTimes,
                    TrainingVariance, container_json, face_json, new_training, update_name_and_user_data)

MIN_IMAGE_BYTES, MAX_IMAGE_BYTES = 1024, 6 * 1024 * 1024
MIN_FACE_PIXELS, MAX_FACE_PIXELS = 36, 4096
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "GIF", "BMP"})


@dataclass(frozen=True)
class Tier:
    """Quotas of a pricing tier (identity-quotas-limits): lists per resource, faces per list, default rate."""

    name: str
    max_lists: int
    max_faces_per_list: int
    rate_limit: str


# The control surface's names for TrainingVariance's fields.
VARIANCE_FIELDS = {"trainingSpread": "spread", "trainingSpeed": "speed", "trainingDrift": "drift",
                   "trainingSeed": "seed"}

TIERS = {
    "S0": Tier("S0", 1_000_000, 1_000_000, "10/s"),
    "F0": Tier("F0", 64, 1_000, "20/min"),
}


@dataclass
class ServiceConfig:
    time_scale: float = 1.0
    training_variance: TrainingVariance = TrainingVariance()
    tier: Tier = TIERS["S0"]
    train_while_training: str = "conflict"  # or "accept"
    train_conflict_code: str = "LargeFaceListTrainingNotFinished"  # or "ConcurrentOperationConflict"
    v1_0_not_started: str = "nonstarted"  # or "notstarted"

    def update(self, data: dict[str, Any]) -> None:
        choices = {
            "trainWhileTraining": ("train_while_training", ("conflict", "accept")),
            "trainConflictCode": ("train_conflict_code",
                                  ("LargeFaceListTrainingNotFinished", "ConcurrentOperationConflict")),
            "v1_0NotStartedSpelling": ("v1_0_not_started", ("nonstarted", "notstarted")),
        }
        variance = {name: data[key] for key, name in VARIANCE_FIELDS.items() if key in data}
        if variance:
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in variance.values()):
                raise ValueError(f"{', '.join(VARIANCE_FIELDS)} must be numbers")
            self.training_variance = replace(self.training_variance, **variance)  # validated as it is built
        for key, value in data.items():
            if key in VARIANCE_FIELDS:
                continue
            if key == "timeScale":
                if not isinstance(value, (int, float)) or value <= 0:
                    raise ValueError("timeScale must be a positive number")
                self.time_scale = float(value)
            elif key == "tier":
                if value not in TIERS:
                    raise ValueError(f"tier must be one of {', '.join(TIERS)}")
                self.tier = TIERS[value]
            elif key in choices:
                attribute, allowed = choices[key]
                if value not in allowed:
                    raise ValueError(f"{key} must be one of {', '.join(allowed)}")
                setattr(self, attribute, value)
            elif key != "rateLimit":  # applied by the app, which owns the limiter
                raise ValueError(f"unknown setting {key!r}")

    def to_json(self) -> dict[str, Any]:
        return {"timeScale": self.time_scale, "tier": self.tier.name, "trainWhileTraining": self.train_while_training,
                "trainConflictCode": self.train_conflict_code, "v1_0NotStartedSpelling": self.v1_0_not_started,
                **{key: getattr(self.training_variance, name) for key, name in VARIANCE_FIELDS.items()}}


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FaceService:
    def __init__(self, clock: Clock, config: ServiceConfig) -> None:
        self.clock = clock
        self.config = config
        self.lists: dict[str, LargeFaceList] = {}
        # Keyed by a list's id, or `{kind}/{id}` for a group.
        self.failure_plans: dict[str, TrainingFailurePlan] = {}
        self.times = TrainingTimes(config.training_variance)
        self.groups = GroupService(clock, lambda: self.config.tier.name, lambda: self.config.time_scale,
                                   self._planned_failure, self._training_times)

    def reset(self) -> None:
        self.lists.clear()
        self.groups.reset()
        self.failure_plans.clear()
        self.times = TrainingTimes(self.config.training_variance)

    def _training_times(self) -> TrainingTimes:
        """The trainings' durations, drawn afresh from the seed when the control surface changes the variance."""
        if self.times.variance != self.config.training_variance:
            self.times = TrainingTimes(self.config.training_variance)
        return self.times

    # Lists

    def create_list(self, list_id: str, body: dict[str, Any]) -> Reply:
        if list_id in self.lists:
            raise FaceError(409, "LargeFaceListExists", "Large face list already exists.")
        if len(self.lists) >= self.config.tier.max_lists:
            raise FaceError(403, "QuotaExceeded", "Large face list number reached limit.")
        self.lists[list_id] = LargeFaceList(
            list_id=list_id,
            name=body["name"],
            user_data=body.get("userData"),
            recognition_model=body.get("recognitionModel") or "recognition_01",
            created_at=self.clock(),
        )
        return Reply(200)

    def get_list(self, list_id: str, return_recognition_model: bool) -> Reply:
        return Reply(200, self._list_json(self._list(list_id), return_recognition_model))

    def list_lists(self, start: str | None, top: int, return_recognition_model: bool) -> Reply:
        check_start(start)
        ids = sorted(i for i in self.lists if not start or i > start)[:top]
        return Reply(200, [self._list_json(self.lists[i], return_recognition_model) for i in ids])

    def update_list(self, list_id: str, body: dict[str, Any]) -> Reply:
        update_name_and_user_data(self._list(list_id), body)
        return Reply(200)

    def delete_list(self, list_id: str) -> Reply:
        self._list(list_id)
        del self.lists[list_id]
        return Reply(200)

    # Faces

    def add_face(self, list_id: str, image: bytes, target_face: list[int] | None, user_data: str | None) -> Reply:
        lfl = self._list(list_id)
        _detect_one_face(image, target_face)
        if len(lfl.faces) >= self.config.tier.max_faces_per_list:
            raise FaceError(403, "QuotaExceeded", "Persisted face number reached limit.")
        return Reply(200, {"persistedFaceId": lfl.add_face(user_data).persisted_face_id})

    def add_group_face(self, kind: str, group_id: str, person_id: str, image: bytes, target_face: list[int] | None,
                       user_data: str | None) -> Reply:
        self.groups.person(kind, group_id, person_id)  # a missing person is reported before the image
        _detect_one_face(image, target_face)
        return Reply(200, self.groups.add_face(kind, group_id, person_id, user_data))

    def add_synthetic_faces(self, list_id: str, count: int) -> int:
        """Fill a list fast (control surface), so a large list's training time can be shown without uploads."""
        lfl = self._list(list_id)
        room = self.config.tier.max_faces_per_list - len(lfl.faces)
        if count > room:
            raise ValueError(f"the list has room for {room} more faces in tier {self.config.tier.name}")
        lfl.add_faces(count)
        return len(lfl.faces)

    def list_faces(self, list_id: str, start: str | None, top: int) -> Reply:
        check_start(start)
        faces = self._list(list_id).page_of_faces(start, top)
        return Reply(200, [face_json(f) for f in faces])

    def get_face(self, list_id: str, face_id: str) -> Reply:
        return Reply(200, face_json(self._face(list_id, face_id)))

    def update_face(self, list_id: str, face_id: str, body: dict[str, Any]) -> Reply:
        face = self._face(list_id, face_id)
        if "userData" in body:
            face.user_data = body["userData"]
        return Reply(200)

    def delete_face(self, list_id: str, face_id: str) -> Reply:
        self._face(list_id, face_id)
        self._list(list_id).delete_face(face_id)
        return Reply(200)

    # Training

    def train(self, list_id: str, api_version: str, training_url: str) -> Reply:
        lfl = self._list(list_id)

        def start(now: float) -> None:
            failure = self._planned_failure(list_id)
            if not lfl.faces and failure is None:
                # v1.0 TrainingStatus: failure "is often caused by ... no persisted face exist in the large face
                # list".
                failure = "There is no persisted face in the large face list."
            lfl.trainings.append(new_training("largefacelists", list_id, len(lfl.faces), api_version, now,
                                              self.config.time_scale, failure, self._training_times()))
        return self._train(lfl, "LargeFaceListTrainingNotFinished", list_id, api_version, training_url, start)

    def training_status(self, list_id: str, api_version: str) -> Reply:
        return self._training_status(self._list(list_id), api_version,
                                     FaceError(404, "LargeFaceListNotTrained", "Large face list not trained."))

    def train_group(self, kind: str, group_id: str, api_version: str, training_url: str) -> Reply:
        group = self.groups.group(kind, group_id)
        return self._train(group, f"{KINDS[kind][0]}TrainingNotFinished", group_id, api_version, training_url,
                           lambda now: self.groups.train(kind, group_id, api_version, now))

    def group_training_status(self, kind: str, group_id: str, api_version: str) -> Reply:
        return self._training_status(self.groups.group(kind, group_id), api_version, self.groups.not_trained(kind))

    def _train(self, container: Trainable, own_conflict_code: str, container_id: str, api_version: str,
               training_url: str, start: Callable[[float], None]) -> Reply:
        now = self.clock()
        current = container.current_training()
        location = {} if api_version == "v1.0" else {"operation-Location": training_url}
        if current is not None and current.status(now) in ("notStarted", "running"):
            if self.config.train_while_training == "accept":
                return Reply(202, None, location)
            generic = self.config.train_conflict_code == "ConcurrentOperationConflict"
            code = "ConcurrentOperationConflict" if generic else own_conflict_code
            raise FaceError(409, code, _conflict_message(code, container_id))
        start(now)
        return Reply(202, None, location)

    def _training_status(self, container: Trainable, api_version: str, not_trained: FaceError) -> Reply:
        training = container.current_training()
        if training is None:
            raise not_trained
        now = self.clock()
        status = training.status(now)
        body = {
            "status": self._spell(status, api_version),
            "createdDateTime": iso(container.created_at),
            "lastActionDateTime": iso(training.last_action_at(now)),
            "lastSuccessfulTrainingDateTime": iso(container.last_success_at(now)),
            "message": training.failure_message if status == "failed" else None,
        }
        return Reply(200, body)

    def fail_trainings(self, list_id: str, message: str, count: int | None) -> None:
        self.failure_plans[list_id] = TrainingFailurePlan(message, count)

    def trainings(self) -> list[Training]:
        containers = [*self.lists.values(), *self.groups.groups.values()]
        return sorted((t for container in containers for t in container.trainings), key=lambda t: t.submitted_at)

    # Helpers

    def _planned_failure(self, list_id: str) -> str | None:
        plan = self.failure_plans.get(list_id)
        if plan is None:
            return None
        if plan.remaining is not None:
            plan.remaining -= 1
            if plan.remaining <= 0:
                del self.failure_plans[list_id]
        return plan.message

    def _spell(self, status: str, api_version: str) -> str:
        if api_version == "v1.0" and status == "notStarted":
            return self.config.v1_0_not_started
        return status

    def _list(self, list_id: str) -> LargeFaceList:
        lfl = self.lists.get(list_id)
        if lfl is None:
            raise FaceError.list_not_found(list_id)
        return lfl

    def _face(self, list_id: str, face_id: str) -> Face:
        face = self._list(list_id).faces.get(face_id)
        if face is None:
            raise FaceError(404, "PersistedFaceNotFound", f"Persisted face '{face_id}' is not found.")
        return face

    @staticmethod
    def _list_json(lfl: LargeFaceList, return_recognition_model: bool) -> dict[str, Any]:
        return container_json("largeFaceListId", lfl.list_id, lfl, return_recognition_model)


def _conflict_message(code: str, container_id: str) -> str:
    if code == "ConcurrentOperationConflict":
        return f"There is a conflict operation on resource {container_id}, please try later."
    words = {"LargeFaceList": "Large face list", "LargePersonGroup": "Large person group",
             "PersonGroup": "Person group"}[code.removesuffix("TrainingNotFinished")]
    return f"{words} is under training. Try again after training completed."


def _detect_one_face(image: bytes, target_face: list[int] | None) -> None:
    if len(image) < MIN_IMAGE_BYTES:
        raise FaceError(400, "InvalidImageSize", "Image size is too small.")
    if len(image) > MAX_IMAGE_BYTES:
        raise FaceError(400, "InvalidImageSize", "Image size is too big.")
    try:
        with Image.open(io.BytesIO(image)) as picture:
            image_format, (width, height) = picture.format, picture.size
    except (UnidentifiedImageError, OSError, ValueError):
        image_format = None
    if image_format not in IMAGE_FORMATS:
        raise FaceError(400, "InvalidImage", "Decoding error, image format unsupported.")
    if min(width, height) < MIN_FACE_PIXELS or max(width, height) > MAX_FACE_PIXELS:
        raise FaceError(400, "InvalidImage", "No face detected in the image or in the specified targetFace area.")
    if target_face is not None:
        left, top, face_width, face_height = target_face
        inside = left >= 0 and top >= 0 and left + face_width <= width and top + face_height <= height
        if not inside or min(face_width, face_height) < MIN_FACE_PIXELS:
            raise FaceError(400, "InvalidImage", "No face detected in the image or in the specified targetFace area.")
