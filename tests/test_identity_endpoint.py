"""The managed-identity endpoint, driven by azure-identity's real credentials as App Service would be."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CredentialUnavailableError, DefaultAzureCredential, ManagedIdentityCredential

from localdev.identity_endpoint import API_VERSION, JWKS_PATH
from localdev.tokens import FACE_ROLE, principal_id
from localdev.world import LocalWorld
from tests.face_world import NO_ROLE_CLIENT_ID, USER_ASSIGNED_CLIENT_ID

SCOPE = "https://cognitiveservices.azure.com/.default"


@pytest.fixture
def app_service_env(world: LocalWorld, monkeypatch: pytest.MonkeyPatch) -> LocalWorld:
    monkeypatch.setenv("IDENTITY_ENDPOINT", world.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", world.identity_header)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                 "MSI_ENDPOINT", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT"):
        monkeypatch.delenv(name, raising=False)
    return world


def verified_claims(world: LocalWorld, token: str) -> dict:
    keys = jwt.PyJWKSet.from_dict(requests.get(f"http://127.0.0.1:{world.ports.identity}{JWKS_PATH}", timeout=5).json())
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(token, keys[kid].key, algorithms=["RS256"], audience="https://cognitiveservices.azure.com")


def test_managed_identity_credential_gets_a_verifiable_token(app_service_env: LocalWorld) -> None:
    access = ManagedIdentityCredential().get_token(SCOPE)
    claims = verified_claims(app_service_env, access.token)
    assert claims["oid"] == principal_id("system-assigned")
    assert claims["roles"] == [FACE_ROLE]
    assert access.expires_on > time.time() + 3600


def test_a_user_assigned_identity_is_chosen_by_client_id(app_service_env: LocalWorld) -> None:
    token = ManagedIdentityCredential(client_id=USER_ASSIGNED_CLIENT_ID).get_token(SCOPE).token
    claims = verified_claims(app_service_env, token)
    assert (claims["appid"], claims["oid"]) == (USER_ASSIGNED_CLIENT_ID, principal_id(USER_ASSIGNED_CLIENT_ID))


def test_an_identity_without_the_face_role_gets_a_token_without_it(app_service_env: LocalWorld) -> None:
    token = ManagedIdentityCredential(client_id=NO_ROLE_CLIENT_ID).get_token(SCOPE).token
    assert verified_claims(app_service_env, token)["roles"] == []


def test_default_azure_credential_finds_the_endpoint(app_service_env: LocalWorld) -> None:
    credential = DefaultAzureCredential(exclude_developer_cli_credential=True, exclude_cli_credential=True,
                                        exclude_powershell_credential=True, exclude_visual_studio_code_credential=True)
    token = credential.get_token(SCOPE).token
    assert verified_claims(app_service_env, token)["oid"] == principal_id("system-assigned")


def test_tokens_are_cached_by_the_credential(app_service_env: LocalWorld) -> None:
    credential = ManagedIdentityCredential()
    assert credential.get_token(SCOPE).token == credential.get_token(SCOPE).token


def test_a_wrong_identity_header_is_refused(app_service_env: LocalWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-secret")
    with pytest.raises((ClientAuthenticationError, CredentialUnavailableError)) as refused:
        ManagedIdentityCredential().get_token(SCOPE)
    assert "X-IDENTITY-HEADER" in str(refused.value)


def test_an_unknown_user_assigned_identity_is_refused(app_service_env: LocalWorld) -> None:
    with pytest.raises((ClientAuthenticationError, CredentialUnavailableError)) as refused:
        ManagedIdentityCredential(client_id="00000000-0000-4000-8000-000000000000").get_token(SCOPE)
    assert "No user-assigned identity" in str(refused.value)


@pytest.mark.parametrize("headers, params, status", [
    ({}, {"api-version": API_VERSION, "resource": "https://cognitiveservices.azure.com"}, 400),
    ({"X-IDENTITY-HEADER": "wrong"}, {"api-version": API_VERSION, "resource": "r"}, 401),
    ("secret", {"resource": "https://cognitiveservices.azure.com"}, 400),
    ("secret", {"api-version": API_VERSION}, 400),
    ("secret", {"api-version": API_VERSION, "resource": "r", "mi_res_id": "/subscriptions/x"}, 400),
])
def test_the_raw_protocol_refuses_bad_requests_with_app_service_errors(world: LocalWorld, headers, params,
                                                                        status: int) -> None:
    if headers == "secret":
        headers = {"X-IDENTITY-HEADER": world.identity_header}
    response = requests.get(world.identity_endpoint, headers=headers, params=params, timeout=5)
    assert response.status_code == status
    assert response.json()["statusCode"] == status and response.json()["message"]


def test_the_raw_protocol_answers_as_app_service_does(world: LocalWorld) -> None:
    response = requests.get(world.identity_endpoint, headers={"X-IDENTITY-HEADER": world.identity_header},
                            params={"api-version": API_VERSION, "resource": "https://cognitiveservices.azure.com"},
                            timeout=5)
    body = response.json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert body["token_type"] == "Bearer" and body["expires_on"].isdigit()


def outage_url(world: LocalWorld) -> str:
    return world.identity_endpoint.removesuffix("/msi/token") + "/_control/outage"


def test_an_outage_answers_its_status_until_it_ends(app_service_env: LocalWorld) -> None:
    requests.post(outage_url(app_service_env), json={"status": 503, "seconds": 30}, timeout=5).raise_for_status()
    params = {"api-version": API_VERSION, "resource": "https://cognitiveservices.azure.com"}
    headers = {"X-IDENTITY-HEADER": app_service_env.identity_header}
    try:
        refused = requests.get(app_service_env.identity_endpoint, params=params, headers=headers, timeout=5)
        assert refused.status_code == 503 and refused.json()["statusCode"] == 503
    finally:
        requests.delete(outage_url(app_service_env), timeout=5).raise_for_status()
    assert requests.get(app_service_env.identity_endpoint, params=params, headers=headers, timeout=5).ok
    assert requests.post(outage_url(app_service_env), json={"status": 200, "seconds": 1}, timeout=5).status_code == 400



def test_azure_identity_fails_during_an_outage_and_recovers_after_it(app_service_env: LocalWorld) -> None:
    """MSAL keeps a 5xx answer for a few seconds (its throttling cache), so recovery lags the outage's end a little."""
    scope = "https://cognitiveservices.azure.com/.default"
    credential = ManagedIdentityCredential()
    requests.post(outage_url(app_service_env), json={"status": 503, "seconds": 30}, timeout=5).raise_for_status()
    with pytest.raises(ClientAuthenticationError):
        credential.get_token(scope)
    requests.delete(outage_url(app_service_env), timeout=5).raise_for_status()
    deadline = time.monotonic() + 30
    while True:
        try:
            token = credential.get_token(scope).token
            break
        except ClientAuthenticationError:
            assert time.monotonic() < deadline, "no token 30 s after the outage ended"
            time.sleep(0.5)
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "https://cognitiveservices.azure.com"
