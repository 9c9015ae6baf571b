"""Session-wide local Azure world (Azurite, Face emulator, identity endpoint) started once over real ports."""

from __future__ import annotations

import uuid
from typing import Callable, Iterator

import pytest
import requests

from localdev.tls import Certificate
from localdev.world import LocalWorld
from tests.face_world import (API_VERSIONS, NO_ROLE_CLIENT_ID, TEST_RATE_LIMIT, TIME_SCALE, USER_ASSIGNED_CLIENT_ID,
                              FaceHttp, RecordingServer)

# A test that asks for one of these (or for a fixture that does) starts the local world or a server.
_WORLD_FIXTURES = {"world", "recording_server"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `world` every test that needs the local world, so that `make test-fast` can leave them out; tests that
    start processes of their own carry the mark themselves."""
    for item in items:
        if _WORLD_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.world)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorld]:
    local_world = LocalWorld(
        tmp_path_factory.mktemp("world"),
        time_scale=TIME_SCALE,
        face_options=["--rate-limit", TEST_RATE_LIMIT],
        identity_options=["--user-assigned", USER_ASSIGNED_CLIENT_ID, "--user-assigned", NO_ROLE_CLIENT_ID,
                          "--without-face-role", NO_ROLE_CLIENT_ID],
    )
    with local_world.start():
        yield local_world


@pytest.fixture
def emulator(world: LocalWorld) -> Iterator[str]:
    """The control surface's URL, with the emulator reset before and its settings restored after each test."""
    control = world.emulator_control
    defaults = requests.get(f"{control}/config", timeout=5).json()
    requests.post(f"{control}/reset", timeout=5).raise_for_status()
    yield control
    requests.patch(f"{control}/config", json=defaults, timeout=5).raise_for_status()
    requests.delete(f"{control}/faults", timeout=5).raise_for_status()


@pytest.fixture
def list_id() -> str:
    return f"lfl-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=API_VERSIONS)
def face(request: pytest.FixtureRequest, world: LocalWorld, emulator: str) -> FaceHttp:
    """The emulator over plain HTTP with the subscription key, once per API version."""
    return FaceHttp(world.face_http_endpoint, request.param, {"Ocp-Apim-Subscription-Key": world.face_key})


@pytest.fixture
def face_v12(world: LocalWorld, emulator: str) -> FaceHttp:
    return FaceHttp(world.face_http_endpoint, "v1.2", {"Ocp-Apim-Subscription-Key": world.face_key})


@pytest.fixture
def recording_server() -> Iterator[Callable[..., RecordingServer]]:
    servers: list[RecordingServer] = []

    def start(replies=None, certificate: Certificate | None = None) -> RecordingServer:
        servers.append(RecordingServer(replies, certificate))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
