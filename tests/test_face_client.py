"""The Face edge against the emulator over real HTTP: each answer becomes the right typed error, and no
credential ever leaves for a host other than FACE_ENDPOINT."""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import ssl
import threading
import time
from typing import Iterator

import pytest
import requests
from azure.identity import ManagedIdentityCredential

from localdev.emulator_client import EmulatorClient
from localdev.tls import Certificate
from orchestrator.containers import Container, Kind
from orchestrator.bounds import MAX_ANSWER_BYTES, MAX_FACE_CODE_CHARS, MAX_FACE_MESSAGE_CHARS
from orchestrator.face_client import SCOPE, FaceClient, parse_retry_after
from orchestrator.face_errors import (AuthFailed, MalformedAnswer, NotFound, ProtocolError, Rejected, Throttled,
                                      TrainingConflict, Transient)
from localdev.world import LocalWorld
from tests.face_world import API_VERSIONS, NO_ROLE_CLIENT_ID, FaceHttp, inject_fault


def keyed(world: LocalWorld, api_version: str = "v1.2", **options) -> FaceClient:
    return FaceClient(world.face_http_endpoint, api_version, api_key=world.face_key, **options)


@pytest.fixture
def trained_list(face_v12: FaceHttp, list_id: str) -> str:
    face_v12.create_list(list_id)
    face_v12.add_face(list_id)
    return list_id


@pytest.mark.parametrize("api_version", API_VERSIONS)
def test_train_then_read_the_status_on_every_version(world: LocalWorld, emulator: str, face_v12: FaceHttp,
                                                     list_id: str, api_version: str) -> None:
    face_v12.create_list(list_id)
    face_v12.add_face(list_id)
    client = keyed(world, api_version)
    location = client.train(Container.large_face_list(list_id))
    assert location == client.training_url(Container.large_face_list(list_id))  # from the header on v1.1+, built on v1.0
    assert client.training_status(location).status.lower() in {"notstarted", "nonstarted", "running", "succeeded"}


def test_a_managed_identity_token_is_used_when_no_key_is_configured(world: LocalWorld, emulator: str,
                                                                    trained_list: str, monkeypatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", world.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", world.identity_header)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(world.trust_bundle))
    credential = ManagedIdentityCredential()
    client = FaceClient(world.face_endpoint, "v1.2", token_provider=lambda: credential.get_token(SCOPE).token)
    assert client.training_status(client.train(Container.large_face_list(trained_list))).status


@pytest.mark.parametrize("rule, error_type, retry_after", [
    ({"status": 429, "retryAfterSeconds": 7, "count": 1}, Throttled, 7.0),
    ({"status": 503, "count": 1}, Transient, None),
    ({"status": 500, "count": 1}, Transient, None),
    ({"dropConnection": True, "count": 1}, Transient, None),
    ({"status": 400, "code": "BadArgument", "count": 1}, Rejected, None),
])
def test_faults_map_to_typed_errors(world: LocalWorld, emulator: str, trained_list: str, rule: dict, error_type,
                                    retry_after) -> None:
    inject_fault(emulator, pathPattern="/train$", **rule)
    with pytest.raises(error_type) as raised:
        keyed(world).train(Container.large_face_list(trained_list))
    assert raised.value.retry_after_seconds == retry_after
    assert raised.value.retryable == (error_type in (Throttled, Transient, AuthFailed))


def test_a_slow_answer_is_a_transient_timeout(world: LocalWorld, emulator: str, trained_list: str) -> None:
    inject_fault(emulator, latencyMs=1500, count=1)
    with pytest.raises(Transient, match="timed out"):
        keyed(world, read_timeout_seconds=0.3).train(Container.large_face_list(trained_list))


def test_a_real_rate_limit_gives_throttled_with_retry_after(world: LocalWorld, emulator: str,
                                                           trained_list: str) -> None:
    requests.patch(f"{emulator}/config", json={"rateLimit": "1/min"}, timeout=5).raise_for_status()
    client = keyed(world)
    client.train(Container.large_face_list(trained_list))
    with pytest.raises(Throttled) as raised:
        client.training_status(client.training_url(Container.large_face_list(trained_list)))
    assert 1 <= raised.value.retry_after_seconds <= 60


def test_a_missing_list_is_not_found(world: LocalWorld, emulator: str) -> None:
    with pytest.raises(NotFound) as raised:
        keyed(world).train(Container.large_face_list("no-such-list"))
    assert raised.value.code == "LargeFaceListNotFound"


@pytest.mark.parametrize("code", ["LargeFaceListTrainingNotFinished", "ConcurrentOperationConflict"])
def test_a_training_already_running_is_a_conflict(world: LocalWorld, emulator: str, face_v12: FaceHttp,
                                                  list_id: str, code: str) -> None:
    requests.patch(f"{emulator}/config", json={"trainConflictCode": code}, timeout=5).raise_for_status()
    face_v12.create_list(list_id)
    EmulatorClient(emulator).add_faces(list_id, 20000)
    client = keyed(world)
    client.train(Container.large_face_list(list_id))
    with pytest.raises(TrainingConflict) as raised:
        client.train(Container.large_face_list(list_id))
    assert raised.value.code == code


def test_a_wrong_key_and_a_principal_without_role_are_auth_failures(world: LocalWorld, emulator: str,
                                                                    trained_list: str, monkeypatch) -> None:
    with pytest.raises(AuthFailed) as wrong_key:
        FaceClient(world.face_http_endpoint, "v1.2", api_key="wrong").train(Container.large_face_list(trained_list))
    assert wrong_key.value.status == 401
    monkeypatch.setenv("IDENTITY_ENDPOINT", world.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", world.identity_header)
    credential = ManagedIdentityCredential(client_id=NO_ROLE_CLIENT_ID)
    no_role = FaceClient(world.face_endpoint, "v1.2", token_provider=lambda: credential.get_token(SCOPE).token,
                         session=_trusting(world))
    with pytest.raises(AuthFailed) as forbidden:
        no_role.train(Container.large_face_list(trained_list))
    assert (forbidden.value.status, forbidden.value.code) == (403, "PermissionDenied")


def _trusting(world: LocalWorld) -> requests.Session:
    session = requests.Session()
    session.verify = str(world.trust_bundle)
    session.trust_env = False  # or the machine's REQUESTS_CA_BUNDLE would replace session.verify
    return session


def test_a_foreign_operation_location_is_refused_and_gets_no_credential(recording_server) -> None:
    elsewhere = recording_server()
    rogue_face = recording_server([(202, {"operation-Location": f"{elsewhere.url}/steal"}, b"")])
    client = FaceClient(rogue_face.url, "v1.2", api_key="secret-key")
    with pytest.raises(ProtocolError, match="not on FACE_ENDPOINT"):
        client.train(Container.large_face_list("celebs"))
    with pytest.raises(ProtocolError, match="no credential was sent"):
        client.training_status(f"{elsewhere.url}/steal")
    assert elsewhere.received == []
    assert rogue_face.received[0]["headers"]["Ocp-Apim-Subscription-Key"] == "secret-key"


@pytest.mark.parametrize("location", ["https://127.0.0.1:{port}/x", "http://127.0.0.2:{port}/x",
                                      "http://127.0.0.1:1/x", "file:///etc/passwd", "not a url"])
def test_another_scheme_host_or_port_is_foreign(recording_server, location: str) -> None:
    rogue_face = recording_server()
    port = rogue_face.url.rsplit(":", 1)[1]
    with pytest.raises(ProtocolError):
        FaceClient(rogue_face.url, "v1.2", api_key="k").training_status(location.format(port=port))
    assert rogue_face.received == []


def test_redirects_are_not_followed_with_credentials(recording_server) -> None:
    elsewhere = recording_server()
    redirecting = recording_server([(307, {"Location": f"{elsewhere.url}/train"}, b"")])
    with pytest.raises(ProtocolError, match="redirect"):
        FaceClient(redirecting.url, "v1.2", api_key="secret-key").train(Container.large_face_list("celebs"))
    assert elsewhere.received == []


@pytest.mark.parametrize("kind", [Kind.LARGE_PERSON_GROUP, Kind.PERSON_GROUP])
def test_a_group_is_trained_at_its_own_path_and_its_409_is_a_running_training(recording_server, kind: Kind) -> None:
    code = f"{kind.noun}TrainingNotFinished"
    conflict = json.dumps({"error": {"code": code, "message": "Person group is under training."}}).encode()
    server = recording_server()
    client, staff = FaceClient(server.url, "v1.2", api_key="k"), Container(kind, "staff")
    server.replies += [(202, {"operation-Location": client.training_url(staff)}, b""),
                       (409, {"x-ms-error-code": code, "Content-Type": "application/json"}, conflict)]
    assert client.train(staff) == f"{server.url}/face/v1.2/{kind}/staff/training"
    with pytest.raises(TrainingConflict) as raised:
        client.train(staff)
    assert raised.value.code == code
    assert [r["path"] for r in server.received] == [f"/face/v1.2/{kind}/staff/train"] * 2


@pytest.mark.parametrize("status", [200, 201, 204])
def test_a_train_answered_with_another_success_is_malformed_and_retryable(recording_server, status: int) -> None:
    with pytest.raises(MalformedAnswer, match="instead of 202") as raised:
        FaceClient(recording_server([(status, {}, b"")]).url, "v1.2", api_key="k").train(Container.large_face_list("celebs"))
    assert raised.value.retryable


@pytest.mark.parametrize("api_version", API_VERSIONS)
@pytest.mark.parametrize("headers", [{}, {"operation-Location": "http://127.0.0.1/" + "x" * 5000}])
def test_a_202_without_a_usable_operation_location_polls_the_list_s_own_status(recording_server, api_version,
                                                                               headers) -> None:
    """Found by a hostile Face: a v1.1+ 202 that lost its operation-Location failed a training that was running."""
    server = recording_server([(202, headers, b"")])
    client = FaceClient(server.url, api_version, api_key="k")
    assert client.train(Container.large_face_list("celebs")) == f"{server.url}/face/{api_version}/largefacelists/celebs/training"


@pytest.mark.parametrize("content_type, payload", [
    ("application/json", b"not json"), ("application/json", b"[]"),
    ("application/json", json.dumps({"state": "done"}).encode()), ("application/json", json.dumps({"status": 3}).encode()),
    ("text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    ("application/json", json.dumps({"status": "succeeded", "pad": "x" * (2 * MAX_ANSWER_BYTES)}).encode()),
])
def test_a_status_answer_outside_the_contract_is_malformed_and_retryable(recording_server, content_type,
                                                                         payload: bytes) -> None:
    server = recording_server([(200, {"Content-Type": content_type}, payload)])
    with pytest.raises(MalformedAnswer) as raised:
        FaceClient(server.url, "v1.2", api_key="k").training_status(f"{server.url}/face/v1.2/largefacelists/a/training")
    assert raised.value.retryable and len(str(raised.value)) < 300


def test_face_s_texts_are_bounded_before_anyone_stores_or_logs_them(recording_server, caplog) -> None:
    huge = "m" * 1_000_000
    server = recording_server([
        (200, {"Content-Type": "application/json"}, json.dumps({"status": "failed", "message": huge}).encode()),
        (500, {"x-ms-error-code": "c" * 60_000, "apim-request-id": "i" * 60_000},
         json.dumps({"error": {"code": "C" * 30_000, "message": "m" * 30_000}}).encode()),
        (503, {"x-ms-error-code": "Busy" * 10_000}, b"<html>" + b"x" * (2 * MAX_ANSWER_BYTES)),
    ])
    client = FaceClient(server.url, "v1.2", api_key="k")
    location = f"{server.url}/face/v1.2/largefacelists/a/training"
    caplog.set_level(logging.INFO)
    status = client.training_status(location)
    assert status.status == "failed" and len(status.message) <= MAX_FACE_MESSAGE_CHARS
    for _ in range(2):
        with pytest.raises(Transient) as raised:
            client.training_status(location)
        assert len(raised.value.message) <= MAX_FACE_MESSAGE_CHARS and len(raised.value.code) <= MAX_FACE_CODE_CHARS
    assert max(len(record.getMessage()) for record in caplog.records) < 1000


def test_a_body_dripped_slowly_is_cut_at_the_read_timeout(dripping_server) -> None:
    """The read timeout bounds each wait for data; a peer sending a byte every 0.2 s must not hold a call for
    the hours its body would take."""
    client = FaceClient(dripping_server, "v1.2", api_key="k", read_timeout_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(MalformedAnswer):
        client.training_status(f"{dripping_server}/face/v1.2/largefacelists/a/training")
    assert time.monotonic() - started < 3


def test_headers_dripped_slowly_are_cut_at_the_call_s_deadline(dripping_server) -> None:
    """A peer that sends a byte of its headers before each read timeout runs out was never timed out: the call,
    and the step around it, outlived its claim. The whole call now ends at connect + read timeout."""
    client = FaceClient(dripping_server, "v1.2", api_key="k", connect_timeout_seconds=0.5, read_timeout_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(Transient, match="cut at its deadline of 1.5 s"):
        client.training_status(f"{dripping_server}/face/v1.2/largefacelists/a/training?drip=headers")
    assert time.monotonic() - started < 2.5


def test_headers_dripped_over_tls_are_cut_at_the_deadline_too(world: LocalWorld) -> None:
    with dripping(world.certificate) as url:
        client = FaceClient(url, "v1.2", api_key="k", connect_timeout_seconds=0.5, read_timeout_seconds=1.0,
                            session=_trusting(world))
        started = time.monotonic()
        with pytest.raises(Transient, match="cut at its deadline"):
            client.training_status(f"{url}/face/v1.2/largefacelists/a/training?drip=headers")
        assert time.monotonic() - started < 2.5


def test_calls_within_their_deadline_are_not_touched(recording_server) -> None:
    server = recording_server([(200, {"Content-Type": "application/json"}, b'{"status": "running"}')] * 3)
    client = FaceClient(server.url, "v1.2", api_key="k", connect_timeout_seconds=0.5, read_timeout_seconds=0.5)
    for _ in range(3):
        assert client.training_status(f"{server.url}/face/v1.2/largefacelists/a/training").status == "running"
        time.sleep(1.2)  # past the deadline: a watchdog that outlived its call would cut the next one
    assert len(server.received) == 3


@pytest.fixture
def dripping_server() -> Iterator[str]:
    with dripping() as url:
        yield url


@contextlib.contextmanager
def dripping(certificate: Certificate | None = None) -> Iterator[str]:
    """A server that drips a body, or with `?drip=headers` its headers, a byte every 0.2 s."""
    class Drip(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            try:
                if "drip=headers" in self.path:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    for _ in range(100):  # a header line a byte at a time, each well within the read timeout
                        self.wfile.write(b"X")
                        self.wfile.flush()
                        time.sleep(0.2)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(100):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass  # the client hung up, as it should

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    url = f"http://127.0.0.1:{server.server_address[1]}"
    if certificate is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate.cert_file, certificate.key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        url = f"https://localhost:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def test_no_secret_reaches_an_error_message(recording_server) -> None:
    server = recording_server()
    client = FaceClient(server.url, "v1.2", api_key="secret-key")
    with pytest.raises(ProtocolError) as raised:
        client.training_status("https://user:hunter2@evil.example/x?sig=SAS-SECRET")
    assert "hunter2" not in str(raised.value) and "SAS-SECRET" not in str(raised.value)
    assert "secret-key" not in str(raised.value)


@pytest.mark.parametrize("value, date, expected", [
    ("7", None, 7.0), ("0", None, 0.0), ("-3", None, 0.0), (None, None, None), ("soon", None, None),
    ("Wed, 21 Oct 2015 07:28:30 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", 30.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:29:00 GMT", 0.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", None, None),
])
def test_retry_after_in_seconds_or_as_a_date_on_the_server_s_clock(value, date, expected) -> None:
    assert parse_retry_after(value, date) == expected
