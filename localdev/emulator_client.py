"""The Face emulator as everything that sets a scene uses it (the demo, the benchmark, the chaos harness, the
measurements and the tests): lists and groups created through the data plane with the key, as a user would, and
faces, persons, training failures, faults and counters through the control surface (docs/local-world.md, "Control surface")."""

from __future__ import annotations

from typing import Any

import requests

# Adding a million faces to a list takes the emulator a while; everything else answers at once.
FACES_TIMEOUT_SECONDS = 120
TIMEOUT_SECONDS = 10


class EmulatorClient:
    def __init__(self, control_url: str, face_endpoint: str | None = None, key: str | None = None,
                 api_version: str = "v1.2") -> None:
        self.control_url = control_url
        self._face_url = f"{face_endpoint}/face/{api_version}"
        self._lists_url = f"{self._face_url}/largefacelists"
        self._key = {"Ocp-Apim-Subscription-Key": key or ""}

    @classmethod
    def of(cls, world) -> "EmulatorClient":
        """The emulator of a `LocalWorld`, over plain HTTP with the world's key."""
        return cls(world.emulator_control, world.face_http_endpoint, world.face_key)

    def create_list(self, list_id: str, faces: int = 0, name: str | None = None) -> None:
        requests.put(f"{self._lists_url}/{list_id}", json={"name": name or list_id}, headers=self._key,
                     timeout=TIMEOUT_SECONDS).raise_for_status()
        if faces:
            self.add_faces(list_id, faces)

    def create_group(self, kind: str, group_id: str, persons: int, faces_per_person: int = 1,
                     name: str | None = None) -> None:
        """A Person Group or Large Person Group (`kind` as in its path) of `persons` persons, `faces_per_person`
        faces each: the group through the data plane, its persons at once through the control surface."""
        requests.put(f"{self._face_url}/{kind}/{group_id}", json={"name": name or group_id}, headers=self._key,
                     timeout=TIMEOUT_SECONDS).raise_for_status()
        self._control("POST", f"/{kind}/{group_id}/persons", {"count": persons, "facesPerPerson": faces_per_person},
                      FACES_TIMEOUT_SECONDS)

    def add_faces(self, list_id: str, count: int) -> None:
        self._control("POST", f"/largefacelists/{list_id}/faces", {"count": count}, FACES_TIMEOUT_SECONDS)

    def fail_training(self, container_id: str, message: str, count: int | None = None,
                      kind: str = "largefacelists") -> None:
        """The container's next training (or next `count` trainings; all of them by default) fails with
        `message`. A list's, unless `kind` (as in its path) says otherwise."""
        body = {"message": message} if count is None else {"message": message, "count": count}
        self._control("PUT", f"/{kind}/{container_id}/training-failure", body)

    def add_fault(self, rule: dict[str, Any]) -> None:
        self._control("POST", "/faults", rule)

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def faults(self) -> list[dict[str, Any]]:
        return self._get("/faults")

    def trainings(self) -> list[dict[str, Any]]:
        return self._get("/trainings")

    def stats(self) -> dict[str, Any]:
        return self._get("/stats")

    def calls(self, since: float = 0.0, caller: str | None = None) -> dict[str, Any]:
        """Each Face call's arrival since `since` (epoch seconds), by `caller` (`key` or `token`) if given, with
        `peakPerSecond`, the most in any one-second window."""
        query = f"?since={since}" + (f"&caller={caller}" if caller else "")
        return self._get(f"/calls{query}")

    def configure(self, **settings: Any) -> None:
        """Change the emulator's settings by their control-surface names, e.g. `trainingSpread=0.1`."""
        self._control("PATCH", "/config", settings)

    def _control(self, method: str, path: str, body: dict | None = None,
                 timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        requests.request(method, f"{self.control_url}{path}", json=body, timeout=timeout_seconds).raise_for_status()

    def _get(self, path: str) -> Any:
        answer = requests.get(f"{self.control_url}{path}", timeout=TIMEOUT_SECONDS)
        answer.raise_for_status()
        return answer.json()
