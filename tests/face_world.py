"""Helpers for the tests that use the local world: its test settings, raw HTTP to the emulator, the error
envelope, images, fault rules, and a scripted server. The fixtures that start things are in conftest.py."""

from __future__ import annotations

import http.server
import io
import ssl
import threading

import requests
from PIL import Image

from localdev.emulator_client import EmulatorClient
from localdev.tls import Certificate

# Fast enough that a 1,000-face training (1.5 s in Azure) takes 0.075 s, slow enough to observe each status.
TIME_SCALE = 20.0
USER_ASSIGNED_CLIENT_ID = "5b0d1c1e-0000-4000-8000-0000000000ua"
NO_ROLE_CLIENT_ID = "5b0d1c1e-0000-4000-8000-0000000norole"
# High enough that ordinary tests never meet the limit; throttling tests lower it through the control surface.
TEST_RATE_LIMIT = "100000/s"

API_VERSIONS = ("v1.0", "v1.1-preview.1", "v1.2-preview.1", "v1.2")


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


def inject_fault(emulator: str, **rule) -> None:
    """Add a fault rule to the emulator (see docs/local-world.md, "Control surface")."""
    EmulatorClient(emulator).add_fault(rule)
