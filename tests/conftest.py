"""Session-wide local Azure world (Azurite, Face emulator, identity endpoint) started once over real ports."""

from __future__ import annotations

import io
import uuid
from typing import Callable, Iterator

import pytest
import requests
from PIL import Image

from localdev.tls import Certificate
from localdev.world import LocalWorld

# Fast enough that a 1,000-face training (1.5 s in Azure) takes 0.075 s, slow enough to observe each status.
TIME_SCALE = 20.0
USER_ASSIGNED_CLIENT_ID = "5b0d1c1e-0000-4000-8000-0000000000ua"
NO_ROLE_CLIENT_ID = "5b0d1c1e-0000-4000-8000-0000000norole"
# High enough that ordinary tests never meet the limit; throttling tests lower it through the control surface.
TEST_RATE_LIMIT = "100000/s"
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


def image_bytes(width: int = 200, height: int = 200, image_format: str = "PNG", noise: bool = True) -> bytes:
    """A real image file; noise keeps compressed formats above the service's 1 KB minimum."""
    picture = Image.effect_noise((width, height), 64).convert("RGB") if noise else Image.new("RGB", (width, height))
    buffer = io.BytesIO()
    picture.save(buffer, image_format)
    return buffer.getvalue()


class FaceHttp:
    """Raw HTTP against one API version of the emulator: tests see exactly what crosses the wire."""

    def __init__(self, endpoint: str, api_version: str, headers: dict[str, str], verify: str | bool = True) -> None:
        self.base = f"{endpoint}/face/{api_version}"
        self.api_version = api_version
        self.session = requests.Session()
        self.session.headers.update(headers)
        # Per call, not on the session: requests lets a REQUESTS_CA_BUNDLE in the environment beat session.verify.
        self.verify = verify

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=10, verify=self.verify, **kwargs)

    def create_list(self, list_id: str, **body) -> None:
        response = self.call("PUT", f"/largefacelists/{list_id}", json={"name": list_id, **body})
        assert response.status_code == 200, response.text

    def add_face(self, list_id: str, **params) -> str:
        response = self.call("POST", f"/largefacelists/{list_id}/persistedfaces", params=params, data=image_bytes(),
                             headers={"Content-Type": "application/octet-stream"})
        assert response.status_code == 200, response.text
        return response.json()["persistedFaceId"]


API_VERSIONS = ("v1.0", "v1.1-preview.1", "v1.2-preview.1", "v1.2")


@pytest.fixture(params=API_VERSIONS)
def face(request: pytest.FixtureRequest, world: LocalWorld, emulator: str) -> FaceHttp:
    """The emulator over plain HTTP with the subscription key, once per API version."""
    return FaceHttp(world.face_http_endpoint, request.param, {"Ocp-Apim-Subscription-Key": world.face_key})


@pytest.fixture
def face_v12(world: LocalWorld, emulator: str) -> FaceHttp:
    return FaceHttp(world.face_http_endpoint, "v1.2", {"Ocp-Apim-Subscription-Key": world.face_key})


def assert_face_error(response: requests.Response, status: int, code: str) -> str:
    """The error envelope of every version: status, `x-ms-error-code`, and a body with code and message."""
    assert response.status_code == status, response.text
    assert response.headers["x-ms-error-code"] == code
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error["message"]


class RecordingServer:
    """A local HTTP server that answers each request with the next scripted reply and records what it got:
    the stand-in for a host that must never receive a credential."""

    def __init__(self, replies: list[tuple[int, dict[str, str], bytes]] | None = None,
                 certificate: Certificate | None = None) -> None:
        import http.server
        import ssl
        import threading

        self.received: list[dict] = []
        self.replies = list(replies or [])
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.received.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                        "body": self.rfile.read(length)})
                status, headers, payload = server.replies.pop(0) if server.replies else (200, {}, b"{}")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self._server.server_address[1]
        if certificate is None:
            self.url = f"http://127.0.0.1:{port}"
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificate.cert_file, certificate.key_file)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.url = f"https://localhost:{port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def recording_server() -> Iterator[Callable[..., RecordingServer]]:
    servers: list[RecordingServer] = []

    def start(replies=None, certificate: Certificate | None = None) -> RecordingServer:
        servers.append(RecordingServer(replies, certificate))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def inject_fault(emulator: str, **rule) -> None:
    """Add a fault rule to the emulator (see README, control surface)."""
    requests.post(f"{emulator}/faults", json=rule, timeout=5).raise_for_status()
