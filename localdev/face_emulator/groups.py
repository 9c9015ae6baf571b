"""Person Groups and Large Person Groups: the groups, their persons, the persons' faces and the groups' trainings.

Both kinds behave alike; they differ in their quotas and in their names in error codes. What the official contract
states (each version's `Face.json`, operation descriptions):
- quotas: Free tier 1,000 groups of each kind and 1,000 persons in all groups of a kind; S0 1,000,000 groups of
  each kind, 10,000 persons per Person Group and 1,000,000 per Large Person Group; 248 faces per person;
- persons are listed in ascending personId order from `start`;
- training time depends on the number of persons, "in several seconds, or up to half a hour for 1,000,000
  persons": the list's documented curve, by persons (`model.training_seconds`);
- a training fails when the group has no person, or no persisted face (v1.0 TrainingStatus description).

Chosen here, where the contract is silent (listed in docs/local-world.md):
- the codes follow the Large Face List's pattern with the kind's name: `PersonGroupNotFound`,
  `LargePersonGroupExists`, `PersonGroupNotTrained`, `LargePersonGroupTrainingNotFinished`, and `PersonNotFound`;
- the failure messages of an empty group: "There is no person in the person group." and "There is no persisted
  face in the person group." (with "large person group" for the other kind).
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import FaceError, check_start
from .model import (Clock, Face, Trainable, Training, TrainingTimes, container_json, face_json, new_training,
                    page_of_ids, update_name_and_user_data)

MAX_FACES_PER_PERSON = 248
KINDS = {"largepersongroups": ("LargePersonGroup", "large person group"),
         "persongroups": ("PersonGroup", "person group")}
# The path parameter, and the field of Get's answer, that names a group of each kind.
ID_FIELDS = {"largepersongroups": "largePersonGroupId", "persongroups": "personGroupId"}


@dataclass(frozen=True)
class GroupQuota:
    max_groups: int
    max_persons_per_group: int
    max_persons_in_all_groups: int | None  # None: more than an emulator holds


GROUP_QUOTAS = {
    "S0": {"largepersongroups": GroupQuota(1_000_000, 1_000_000, None),
           "persongroups": GroupQuota(1_000_000, 10_000, None)},
    "F0": {"largepersongroups": GroupQuota(1_000, 1_000, 1_000),
           "persongroups": GroupQuota(1_000, 1_000, 1_000)},
}


@dataclass
class Person:
    person_id: str
    name: str | None
    user_data: str | None
    faces: dict[str, Face] = field(default_factory=dict)
    face_ids: list[str] = field(default_factory=list)  # in the order they were added, as the contract lists them


@dataclass
class PersonGroup(Trainable):
    kind: str
    group_id: str
    name: str
    user_data: str | None
    recognition_model: str
    created_at: float
    persons: dict[str, Person] = field(default_factory=dict)
    person_ids: list[str] = field(default_factory=list)  # sorted: persons are listed in personId order
    trainings: list[Training] = field(default_factory=list)

    def add_person(self, name: str | None, user_data: str | None) -> Person:
        person = Person(str(uuid.uuid4()), name, user_data)
        self.persons[person.person_id] = person
        bisect.insort(self.person_ids, person.person_id)
        return person

    def delete_person(self, person_id: str) -> None:
        del self.persons[person_id]
        del self.person_ids[bisect.bisect_left(self.person_ids, person_id)]

    def face_count(self) -> int:
        return sum(len(p.faces) for p in self.persons.values())


class GroupService:
    """The group operations of one emulator. The tier and time scale are read when needed, since the control surface
    may change them; planned failures are the emulator's, keyed `{kind}/{id}`."""

    def __init__(self, clock: Clock, tier_name: Callable[[], str], time_scale: Callable[[], float],
                 planned_failure: Callable[[str], str | None], training_times: Callable[[], TrainingTimes]) -> None:
        self.clock = clock
        self._tier_name = tier_name
        self._time_scale = time_scale
        self._planned_failure = planned_failure
        self._training_times = training_times
        self.groups: dict[tuple[str, str], PersonGroup] = {}

    def reset(self) -> None:
        self.groups.clear()

    # Groups

    def create_group(self, kind: str, group_id: str, body: dict[str, Any]) -> None:
        if (kind, group_id) in self.groups:
            raise FaceError(409, f"{_noun(kind)}Exists", f"{_words(kind).capitalize()} already exists.")
        if sum(1 for k, _ in self.groups if k == kind) >= self._quota(kind).max_groups:
            raise FaceError(403, "QuotaExceeded", f"{_words(kind).capitalize()} number reached limit.")
        self.groups[(kind, group_id)] = PersonGroup(kind, group_id, body["name"], body.get("userData"),
                                                    body.get("recognitionModel") or "recognition_01", self.clock())

    def get_group(self, kind: str, group_id: str, return_recognition_model: bool) -> dict[str, Any]:
        return _group_json(self.group(kind, group_id), return_recognition_model)

    def list_groups(self, kind: str, start: str | None, top: int, return_recognition_model: bool) -> list[dict]:
        check_start(start)
        ids = sorted(group_id for k, group_id in self.groups if k == kind and (not start or group_id > start))
        return [_group_json(self.groups[(kind, i)], return_recognition_model) for i in ids[:top]]

    def update_group(self, kind: str, group_id: str, body: dict[str, Any]) -> None:
        update_name_and_user_data(self.group(kind, group_id), body)

    def delete_group(self, kind: str, group_id: str) -> None:
        self.group(kind, group_id)
        del self.groups[(kind, group_id)]

    # Persons

    def create_person(self, kind: str, group_id: str, body: dict[str, Any]) -> dict[str, str]:
        group = self.group(kind, group_id)
        self._check_room_for_persons(group, 1)
        return {"personId": group.add_person(body.get("name"), body.get("userData")).person_id}

    def add_synthetic_persons(self, kind: str, group_id: str, count: int, faces_per_person: int) -> int:
        """Fill a group fast (control surface), so a large group's training time can be shown without uploads."""
        group = self.group(kind, group_id)
        if not 0 <= faces_per_person <= MAX_FACES_PER_PERSON:
            raise ValueError(f"facesPerPerson must be from 0 to {MAX_FACES_PER_PERSON}")
        self._check_room_for_persons(group, count)
        for number in range(count):
            person = group.add_person(f"person-{number}", None)
            for _ in range(faces_per_person):
                _add_face(person, None)
        return len(group.persons)

    def get_person(self, kind: str, group_id: str, person_id: str) -> dict[str, Any]:
        return _person_json(self.person(kind, group_id, person_id))

    def list_persons(self, kind: str, group_id: str, start: str | None, top: int) -> list[dict[str, Any]]:
        check_start(start)
        group = self.group(kind, group_id)
        return [_person_json(group.persons[i]) for i in page_of_ids(group.person_ids, start, top)]

    def update_person(self, kind: str, group_id: str, person_id: str, body: dict[str, Any]) -> None:
        update_name_and_user_data(self.person(kind, group_id, person_id), body)

    def delete_person(self, kind: str, group_id: str, person_id: str) -> None:
        self.person(kind, group_id, person_id)
        self.group(kind, group_id).delete_person(person_id)

    # Faces

    def add_face(self, kind: str, group_id: str, person_id: str, user_data: str | None) -> dict[str, str]:
        """A face the caller has already detected in its image (service.detect_one_face)."""
        person = self.person(kind, group_id, person_id)
        if len(person.faces) >= MAX_FACES_PER_PERSON:
            raise FaceError(403, "QuotaExceeded", "Persisted face number reached limit.")
        return {"persistedFaceId": _add_face(person, user_data).persisted_face_id}

    def get_face(self, kind: str, group_id: str, person_id: str, face_id: str) -> dict[str, Any]:
        return face_json(self._face(kind, group_id, person_id, face_id))

    def update_face(self, kind: str, group_id: str, person_id: str, face_id: str, body: dict[str, Any]) -> None:
        face = self._face(kind, group_id, person_id, face_id)
        if "userData" in body:
            face.user_data = body["userData"]

    def delete_face(self, kind: str, group_id: str, person_id: str, face_id: str) -> None:
        self._face(kind, group_id, person_id, face_id)
        person = self.person(kind, group_id, person_id)
        del person.faces[face_id]
        person.face_ids.remove(face_id)

    # Training

    def train(self, kind: str, group_id: str, api_version: str, now: float) -> None:
        """Start a training; the caller has checked that none is running (409)."""
        group = self.group(kind, group_id)
        failure = self._planned_failure(f"{kind}/{group_id}")
        if failure is None and not group.persons:
            failure = f"There is no person in the {_words(kind)}."
        elif failure is None and group.face_count() == 0:
            failure = f"There is no persisted face in the {_words(kind)}."
        group.trainings.append(new_training(kind, group_id, len(group.persons), api_version, now,
                                            self._time_scale(), failure, self._training_times()))

    def not_trained(self, kind: str) -> FaceError:
        return FaceError(404, f"{_noun(kind)}NotTrained", f"{_words(kind).capitalize()} not trained.")

    # Lookups

    def group(self, kind: str, group_id: str) -> PersonGroup:
        group = self.groups.get((kind, group_id))
        if group is None:
            raise FaceError(404, f"{_noun(kind)}NotFound", f"{_words(kind).capitalize()} '{group_id}' is not found.")
        return group

    def person(self, kind: str, group_id: str, person_id: str) -> Person:
        person = self.group(kind, group_id).persons.get(person_id)
        if person is None:
            raise FaceError(404, "PersonNotFound", f"Person '{person_id}' is not found.")
        return person

    def _face(self, kind: str, group_id: str, person_id: str, face_id: str) -> Face:
        face = self.person(kind, group_id, person_id).faces.get(face_id)
        if face is None:
            raise FaceError(404, "PersistedFaceNotFound", f"Persisted face '{face_id}' is not found.")
        return face

    def _quota(self, kind: str) -> GroupQuota:
        return GROUP_QUOTAS[self._tier_name()][kind]

    def _check_room_for_persons(self, group: PersonGroup, count: int) -> None:
        quota = self._quota(group.kind)
        in_all = sum(len(g.persons) for (k, _), g in self.groups.items() if k == group.kind)
        if len(group.persons) + count > quota.max_persons_per_group or (
                quota.max_persons_in_all_groups is not None and in_all + count > quota.max_persons_in_all_groups):
            raise FaceError(403, "QuotaExceeded", "Person number reached limit.")


def _noun(kind: str) -> str:
    return KINDS[kind][0]


def _words(kind: str) -> str:
    return KINDS[kind][1]


def _add_face(person: Person, user_data: str | None) -> Face:
    face = Face(str(uuid.uuid4()), user_data)
    person.faces[face.persisted_face_id] = face
    person.face_ids.append(face.persisted_face_id)
    return face


def _group_json(group: PersonGroup, return_recognition_model: bool) -> dict[str, Any]:
    return container_json(ID_FIELDS[group.kind], group.group_id, group, return_recognition_model)


def _person_json(person: Person) -> dict[str, Any]:
    body: dict[str, Any] = {"personId": person.person_id, "persistedFaceIds": list(person.face_ids)}
    if person.name is not None:
        body["name"] = person.name
    if person.user_data is not None:
        body["userData"] = person.user_data
    return body
