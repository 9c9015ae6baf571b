"""What Azure's gateway does before an operation runs: authentication, roles, rate limits; plus injected faults."""

from __future__ import annotations

import time

import pytest
import requests
from azure.identity import ManagedIdentityCredential

from localdev.emulator_client import EmulatorClient
from localdev.face_emulator.app import peak_in_any_window
from localdev.face_emulator.auth import AUDIENCE
from localdev.tokens import FACE_ROLE, SigningKey
from localdev.world import LocalWorld
from tests.face_world import NO_ROLE_CLIENT_ID, FaceHttp, assert_face_error, image_bytes, inject_fault

SCOPE = f"{AUDIENCE}/.default"


@pytest.fixture
def app_service_identity(world: LocalWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment App Service gives a function app with a managed identity."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", world.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", world.identity_header)


def bearer(world: LocalWorld, api_version: str, token: str) -> FaceHttp:
    return FaceHttp(world.face_endpoint, api_version, {"Authorization": f"Bearer {token}"},
                    verify=str(world.certificate.ca_file))


def identity_signing_key(world: LocalWorld) -> SigningKey:
    return SigningKey.load_or_create(world.state_dir / "identity-signing-key.json")


def test_missing_and_wrong_keys_are_unauthorized(face: FaceHttp, world: LocalWorld) -> None:
    anonymous = FaceHttp(world.face_http_endpoint, face.api_version, {})
    assert_face_error(anonymous.call("GET", "/largefacelists"), 401, "401")
    wrong = FaceHttp(world.face_http_endpoint, face.api_version, {"Ocp-Apim-Subscription-Key": "not-the-key"})
    assert_face_error(wrong.call("GET", "/largefacelists"), 401, "401")


def test_keys_are_refused_when_local_auth_is_disabled(face: FaceHttp, emulator: str) -> None:
    requests.patch(f"{emulator}/config", json={"keyAuth": False}, timeout=5).raise_for_status()
    assert_face_error(face.call("GET", "/largefacelists"), 401, "AuthenticationTypeDisabled")


@pytest.mark.parametrize("api_version", ["v1.1-preview.1", "v1.2-preview.1", "v1.2"])
def test_a_managed_identity_token_is_accepted_over_https(world: LocalWorld, emulator: str,
                                                         app_service_identity: None, api_version: str) -> None:
    token = ManagedIdentityCredential().get_token(SCOPE).token
    face = bearer(world, api_version, token)
    face.create_list("token-made")
    assert face.call("GET", "/largefacelists/token-made").json()["name"] == "token-made"


def test_v1_0_accepts_keys_only(world: LocalWorld, emulator: str, app_service_identity: None) -> None:
    token = ManagedIdentityCredential().get_token(SCOPE).token
    message = assert_face_error(bearer(world, "v1.0", token).call("GET", "/largefacelists"), 401, "401")
    assert "key" in message


def test_a_principal_without_a_face_role_is_forbidden(world: LocalWorld, emulator: str,
                                                      app_service_identity: None) -> None:
    token = ManagedIdentityCredential(client_id=NO_ROLE_CLIENT_ID).get_token(SCOPE).token
    assert_face_error(bearer(world, "v1.2", token).call("GET", "/largefacelists"), 403, "PermissionDenied")


@pytest.mark.parametrize("claims, expected", [
    ({"lifetime_seconds": -60}, "expired"),
    ({"audience": "https://management.azure.com"}, "audience"),
])
def test_expired_and_misdirected_tokens_are_unauthorized(world: LocalWorld, emulator: str, claims: dict,
                                                         expected: str) -> None:
    token, _ = identity_signing_key(world).mint(**{"audience": AUDIENCE, "client_id": "system-assigned",
                                                   "roles": [FACE_ROLE], "lifetime_seconds": 3600, **claims})
    message = assert_face_error(bearer(world, "v1.2", token).call("GET", "/largefacelists"), 401, "401")
    assert expected in message


def test_a_token_not_signed_by_the_identity_endpoint_is_unauthorized(world: LocalWorld, emulator: str,
                                                                     tmp_path) -> None:
    genuine = identity_signing_key(world)
    forger = SigningKey(genuine.key_id, SigningKey.load_or_create(tmp_path / "other.json").private_key)
    token, _ = forger.mint(audience=AUDIENCE, client_id="system-assigned", roles=[FACE_ROLE], lifetime_seconds=600)
    message = assert_face_error(bearer(world, "v1.2", token).call("GET", "/largefacelists"), 401, "401")
    assert "Signature" in message
    assert_face_error(bearer(world, "v1.2", "not.a.jwt").call("GET", "/largefacelists"), 401, "401")


def test_calls_over_the_rate_limit_get_429_with_retry_after(face: FaceHttp, emulator: str) -> None:
    requests.patch(f"{emulator}/config", json={"rateLimit": {"calls": 3, "perSeconds": 2}}, timeout=5).raise_for_status()
    started = time.monotonic()
    answers = [face.call("GET", "/largefacelists") for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert_face_error(answers[3], 429, "429")
    retry_after = int(answers[3].headers["Retry-After"])
    assert 1 <= retry_after <= 2
    time.sleep(max(0.0, started + retry_after - time.monotonic()) + 0.05)
    assert face.call("GET", "/largefacelists").status_code == 200


def test_the_rate_limit_is_the_resource_s_every_credential_counted_together(world: LocalWorld, face_v12: FaceHttp,
                                                                           emulator: str,
                                                                           app_service_identity: None) -> None:
    """S0 allows 10 transactions a second per resource (../shared/face-api-spec/NOTES.md, "Limits"): an upload job
    with the key and the orchestrator with its identity share them. The emulator once counted each apart."""
    requests.patch(f"{emulator}/config", json={"rateLimit": "3/min"}, timeout=5).raise_for_status()
    token = ManagedIdentityCredential().get_token(SCOPE).token
    by_token = bearer(world, "v1.2", token)
    assert [face_v12.call("GET", "/largefacelists").status_code for _ in range(2)] == [200, 200]
    assert [by_token.call("GET", "/largefacelists").status_code for _ in range(2)] == [200, 429]
    assert face_v12.call("GET", "/largefacelists").status_code == 429


def test_every_call_s_arrival_is_recorded_with_its_caller_and_the_peak_of_any_second(world: LocalWorld,
                                                                                       face_v12: FaceHttp,
                                                                                       emulator: str,
                                                                                       app_service_identity: None
                                                                                       ) -> None:
    requests.patch(f"{emulator}/config", json={"rateLimit": "4/min"}, timeout=5).raise_for_status()
    inject_fault(emulator, pathPattern="^/largefacelists$", status=503, count=1)
    started = time.time()
    by_token = bearer(world, "v1.2", ManagedIdentityCredential().get_token(SCOPE).token)
    statuses = [face_v12.call("GET", "/largefacelists").status_code for _ in range(3)]  # the first meets the fault
    statuses += [by_token.call("GET", "/largefacelists").status_code for _ in range(3)]
    assert statuses == [503, 200, 200, 200, 200, 429]
    client = EmulatorClient(emulator)
    arrivals = client.calls(since=started)
    assert [(c["status"], c["caller"], c["throttled"]) for c in arrivals["calls"]] == [
        (503, None, False), (200, "key", False), (200, "key", False), (200, "token", False), (200, "token", False),
        (429, "token", True)]
    assert all(started <= c["at"] <= time.time() for c in arrivals["calls"])
    assert {c["operation"] for c in arrivals["calls"]} == {"FaceListOperations_GetLargeFaceLists"}
    assert arrivals["peakPerSecond"] == 6  # all six within a second
    assert [c["caller"] for c in client.calls(since=started, caller="token")["calls"]] == ["token"] * 3
    requests.post(f"{emulator}/reset", timeout=5).raise_for_status()
    assert client.calls() == {"calls": [], "peakPerSecond": 0}


def test_the_peak_counts_the_fullest_one_second_window_wherever_it_starts() -> None:
    assert peak_in_any_window([], 1.0) == 0
    assert peak_in_any_window([0.0, 0.5, 0.99, 1.0, 1.5], 1.0) == 3  # (0, 0.5, 0.99) or (0.5, 0.99, 1.0, ...)
    assert peak_in_any_window([0.0, 0.6, 1.2, 1.8, 2.4], 1.0) == 2
    assert peak_in_any_window([5.0, 1.0, 5.2, 5.9, 1.1], 1.0) == 3  # unordered


def test_the_free_tier_brings_its_rate_limit(face_v12: FaceHttp, emulator: str) -> None:
    config = requests.patch(f"{emulator}/config", json={"tier": "F0"}, timeout=5).json()
    assert config["rateLimit"] == {"calls": 20, "perSeconds": 60.0}
    statuses = [face_v12.call("GET", "/largefacelists").status_code for _ in range(21)]
    assert statuses == [200] * 20 + [429]


def test_the_free_tier_quotas_of_lists_and_faces(face_v12: FaceHttp, emulator: str) -> None:
    requests.patch(f"{emulator}/config", json={"tier": "F0", "rateLimit": "1000/s"}, timeout=5).raise_for_status()
    for n in range(64):
        face_v12.create_list(f"free-{n}")
    assert_face_error(face_v12.call("PUT", "/largefacelists/free-64", json={"name": "one too many"}), 403,
                      "QuotaExceeded")
    requests.post(f"{emulator}/largefacelists/free-0/faces", json={"count": 1000}, timeout=5).raise_for_status()
    response = face_v12.call("POST", "/largefacelists/free-0/persistedfaces", data=image_bytes(),
                             headers={"Content-Type": "application/octet-stream"})
    assert_face_error(response, 403, "QuotaExceeded")


def test_a_status_fault_fires_for_its_count_then_stops(face: FaceHttp, emulator: str) -> None:
    rule = requests.post(f"{emulator}/faults", json={"pathPattern": "^/largefacelists$", "status": 503,
                                                     "retryAfterSeconds": 7, "count": 2}, timeout=5).json()
    first, second, third = (face.call("GET", "/largefacelists") for _ in range(3))
    assert_face_error(first, 503, "ServiceUnavailable")
    assert first.headers["Retry-After"] == "7"
    assert_face_error(second, 503, "ServiceUnavailable")
    assert third.status_code == 200
    assert requests.get(f"{emulator}/faults", timeout=5).json()[0] == {**rule, "fired": 2}


def test_a_fault_matches_only_its_method_and_path(face_v12: FaceHttp, emulator: str, list_id: str) -> None:
    face_v12.create_list(list_id)
    requests.post(f"{emulator}/faults", json={"method": "POST", "pathPattern": "/train$", "status": 500,
                                              "code": "InternalServerError", "count": 1}, timeout=5).raise_for_status()
    assert face_v12.call("GET", f"/largefacelists/{list_id}").status_code == 200
    assert_face_error(face_v12.call("POST", f"/largefacelists/{list_id}/train"), 500, "InternalServerError")


def test_a_dropped_connection_gets_no_answer(face_v12: FaceHttp, emulator: str) -> None:
    requests.post(f"{emulator}/faults", json={"dropConnection": True, "count": 1}, timeout=5).raise_for_status()
    with pytest.raises(requests.ConnectionError):
        face_v12.call("GET", "/largefacelists")
    assert face_v12.call("GET", "/largefacelists").status_code == 200
    stats = requests.get(f"{emulator}/stats", timeout=5).json()
    assert stats["responses"]["FaceListOperations_GetLargeFaceLists"] == {"dropped": 1, "200": 1}


def test_latency_is_added_before_answering(face_v12: FaceHttp, emulator: str) -> None:
    requests.post(f"{emulator}/faults", json={"latencyMs": 300, "count": 1}, timeout=5).raise_for_status()
    started = time.monotonic()
    assert face_v12.call("GET", "/largefacelists").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_rate_based_faults_fire_about_as_often_as_asked(face_v12: FaceHttp, emulator: str) -> None:
    requests.post(f"{emulator}/faults", json={"status": 500, "rate": 0.3}, timeout=5).raise_for_status()
    failures = sum(face_v12.call("GET", "/largefacelists").status_code == 500 for _ in range(300))
    assert 50 <= failures <= 130  # 90 expected; bounds are about 5 standard deviations apart


def test_a_fault_can_answer_junk_in_place_of_a_success(face_v12: FaceHttp, emulator: str, list_id: str) -> None:
    face_v12.create_list(list_id)
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    requests.post(f"{emulator}/faults", json={"pathPattern": "/training$", "body": page, "count": 1},
                  timeout=5).raise_for_status()
    junk = face_v12.call("GET", f"/largefacelists/{list_id}/training")
    assert (junk.status_code, junk.text, junk.headers["Content-Type"]) == (200, page, "text/html")
    assert face_v12.call("GET", f"/largefacelists/{list_id}/training").json()["error"]  # the real answer again


def test_a_fault_can_alter_the_headers_of_the_real_answer(face_v12: FaceHttp, emulator: str, list_id: str) -> None:
    face_v12.create_list(list_id)
    face_v12.add_face(list_id)
    requests.post(f"{emulator}/faults", json={"pathPattern": "/train$", "dropHeaders": ["Operation-Location"],
                                              "headers": {"apim-request-id": "i" * 20_000}, "count": 1},
                  timeout=5).raise_for_status()
    altered = face_v12.call("POST", f"/largefacelists/{list_id}/train")
    assert altered.status_code == 202 and "operation-Location" not in altered.headers
    assert altered.headers["apim-request-id"] == "i" * 20_000
    (rule,) = requests.get(f"{emulator}/faults", timeout=5).json()
    assert rule["fired"] == 1 and rule["dropHeaders"] == ["operation-location"]


@pytest.mark.parametrize("rule", [
    {}, {"status": 200, "count": 1}, {"status": 500}, {"status": 500, "count": 1, "rate": 0.5},
    {"status": 500, "rate": 2}, {"status": 500, "count": 1, "pathPattern": "("}, {"status": 500, "count": 1, "x": 1},
    {"body": 7, "count": 1}, {"body": "x", "status": 100, "count": 1}, {"headers": {"a": 1}, "count": 1},
    {"dropHeaders": "operation-Location", "count": 1},
])
def test_bad_fault_rules_are_refused_with_a_reason(emulator: str, rule: dict) -> None:
    response = requests.post(f"{emulator}/faults", json=rule, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]


def test_stats_count_calls_by_v1_2_operation_id_whatever_the_version(face: FaceHttp, emulator: str,
                                                                      list_id: str) -> None:
    face.create_list(list_id)
    face.call("POST", f"/largefacelists/{list_id}/train")
    face.call("POST", f"/largefacelists/{list_id}/train")
    face.call("GET", f"/largefacelists/{list_id}/training")
    stats = requests.get(f"{emulator}/stats", timeout=5).json()
    assert stats["calls"] == {"FaceListOperations_CreateLargeFaceList": 1, "FaceListOperations_TrainLargeFaceList": 2,
                              "FaceListOperations_GetLargeFaceListTrainingStatus": 1}
    assert stats["responses"]["FaceListOperations_TrainLargeFaceList"] in ({"202": 2}, {"202": 1, "409": 1})
    assert stats["totalCalls"] == 4


def test_reset_forgets_lists_counters_and_faults(face_v12: FaceHttp, emulator: str, list_id: str) -> None:
    face_v12.create_list(list_id)
    requests.post(f"{emulator}/faults", json={"status": 500, "count": 5}, timeout=5).raise_for_status()
    requests.post(f"{emulator}/reset", timeout=5).raise_for_status()
    assert requests.get(f"{emulator}/stats", timeout=5).json()["totalCalls"] == 0
    assert requests.get(f"{emulator}/faults", timeout=5).json() == []
    assert_face_error(face_v12.call("GET", f"/largefacelists/{list_id}"), 404, "LargeFaceListNotFound")


@pytest.mark.parametrize("patch", [{"timeScale": 0}, {"tier": "P9"}, {"trainWhileTraining": "maybe"},
                                   {"rateLimit": "fast"}, {"keyAuth": "no"}, {"unknown": 1}])
def test_bad_settings_are_refused_with_a_reason(emulator: str, patch: dict) -> None:
    response = requests.patch(f"{emulator}/config", json=patch, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]
