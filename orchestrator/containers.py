"""The Face containers that are trained: Large Face Lists, Large Person Groups and Person Groups.

All three share the train/status contract (`POST …/{id}/train` answers 202, `GET …/{id}/training` reports
notStarted/running/succeeded/failed) and the id rule; they differ in their path, the request field that names
them, their events' type names and their error codes. Containers of different kinds with the same id are
different containers: each has its own key, which names its table rows, its in-flight marker and its runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# The id rule of all three kinds. Always used with fullmatch: in Python `$` also matches before a trailing
# newline, so "celebs\n" would pass.
ID_PATTERN = re.compile(r"[a-z0-9-_]{1,64}")
ID_RULE = "1-64 characters from lowercase letters, digits, '-' and '_'"
KEY_SEPARATOR = ":"  # outside the id rule, and allowed in table keys (unlike '/')


class Kind(StrEnum):
    """A container's kind, spelled as its collection's path segment in the Face API."""

    LARGE_FACE_LIST = "largefacelists"
    LARGE_PERSON_GROUP = "largepersongroups"
    PERSON_GROUP = "persongroups"

    @property
    def request_field(self) -> str:
        """The field that names a container of this kind in a request, and in its events' data."""
        return _REQUEST_FIELDS[self]

    @property
    def noun(self) -> str:
        """The kind's name in event types and error codes: `LargeFaceList`, `LargePersonGroup`, `PersonGroup`."""
        return _NOUNS[self]

    @property
    def described(self) -> str:
        """The kind in words, for messages to people: `Large Face List`."""
        return _DESCRIBED[self]


_REQUEST_FIELDS = {Kind.LARGE_FACE_LIST: "listId", Kind.LARGE_PERSON_GROUP: "largePersonGroupId",
                   Kind.PERSON_GROUP: "personGroupId"}
_NOUNS = {Kind.LARGE_FACE_LIST: "LargeFaceList", Kind.LARGE_PERSON_GROUP: "LargePersonGroup",
          Kind.PERSON_GROUP: "PersonGroup"}
_DESCRIBED = {Kind.LARGE_FACE_LIST: "Large Face List", Kind.LARGE_PERSON_GROUP: "Large Person Group",
              Kind.PERSON_GROUP: "Person Group"}


@dataclass(frozen=True, order=True)
class Container:
    kind: Kind
    id: str

    @classmethod
    def large_face_list(cls, list_id: str) -> Container:
        return cls(Kind.LARGE_FACE_LIST, list_id)

    @property
    def key(self) -> str:
        """What names the container in storage and in its run ids. A Large Face List's is its id, as before there
        were other kinds, so that its stored state and its events' ids stay as they were; another kind's is its
        path and id (`largepersongroups:celebs`)."""
        if self.kind is Kind.LARGE_FACE_LIST:
            return self.id
        return f"{self.kind}{KEY_SEPARATOR}{self.id}"

    @classmethod
    def from_key(cls, key: str) -> Container:
        kind, separator, container_id = key.partition(KEY_SEPARATOR)
        if not separator:
            return cls.large_face_list(key)
        return cls(Kind(kind), container_id)

    @property
    def path(self) -> str:
        """The container's path under the API's base URL, and its events' subject: `largepersongroups/celebs`."""
        return f"{self.kind}/{self.id}"

    def __str__(self) -> str:
        return self.path
