"""Authentication and authorisation as Azure's gateway does it for a Face resource.

Keys: `Ocp-Apim-Subscription-Key`, refused when local auth is disabled. Tokens: `Authorization: Bearer <JWT>`
(v1.1 and later; v1.0 is key-only in the contract), verified against the identity endpoint's JWKS: RS256
signature, audience `https://cognitiveservices.azure.com`, expiry. Azure then checks RBAC on the resource; the
local stand-in for that lookup is the token's `roles` claim, which the identity endpoint fills in from its own
configuration.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass

import aiohttp
import jwt

from .errors import FaceError

AUDIENCE = "https://cognitiveservices.azure.com"
FACE_DATA_ROLES = frozenset({"Cognitive Services User", "Cognitive Services Face Recognizer"})
KEY_HEADER = "Ocp-Apim-Subscription-Key"
TOKEN_VERSIONS_EXCLUDED = frozenset({"v1.0"})
_JWKS_REFRESH_SECONDS = 10.0


@dataclass(frozen=True)
class Caller:
    """Who made a call; `credential_id` is what the rate limit counts against."""

    credential_id: str
    kind: str  # "key" or "token"


class Authenticator:
    def __init__(self, key: str, jwks_url: str | None) -> None:
        self.key = key
        self.key_auth_enabled = True
        self._jwks_url = jwks_url
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_fetched_at = 0.0
        self._jwks_lock = asyncio.Lock()

    async def authenticate(self, headers, api_version: str) -> Caller:
        key = headers.get(KEY_HEADER)
        authorization = headers.get("Authorization", "")
        if key is not None:
            return self._check_key(key)
        if authorization.lower().startswith("bearer "):
            if api_version in TOKEN_VERSIONS_EXCLUDED:
                raise FaceError.unauthorized(f"API version {api_version} accepts only a subscription key.")
            return await self._check_token(authorization[len("bearer "):].strip())
        raise FaceError.unauthorized(
            "Access denied due to missing subscription key or access token. Make sure to include a subscription "
            "key or an Entra ID bearer token when making requests to an API."
        )

    def _check_key(self, key: str) -> Caller:
        if not self.key_auth_enabled:
            raise FaceError(401, "AuthenticationTypeDisabled", "Key based authentication is disabled for this resource.")
        if not hmac.compare_digest(key.encode(), self.key.encode()):
            raise FaceError.unauthorized(
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
                "key for an active subscription and use a correct regional API endpoint for your resource."
            )
        return Caller(credential_id="key", kind="key")

    async def _check_token(self, token: str) -> Caller:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            signing_key = await self._signing_key(kid)
            claims = jwt.decode(token, signing_key, algorithms=["RS256"], audience=AUDIENCE,
                                options={"require": ["exp", "aud", "oid"]})
        except jwt.ExpiredSignatureError:
            raise FaceError.unauthorized("Access token is expired.") from None
        except jwt.InvalidAudienceError:
            raise FaceError.unauthorized(f"Access token audience is wrong: expected {AUDIENCE}.") from None
        except jwt.PyJWTError as error:
            raise FaceError.unauthorized(f"Access token is invalid: {error}.") from None
        if not FACE_DATA_ROLES.intersection(claims.get("roles", ())):
            raise FaceError(403, "PermissionDenied",
                            f"Principal {claims['oid']} does not have access to API/Operation: it holds no Face "
                            f"data role ({', '.join(sorted(FACE_DATA_ROLES))}) on this resource.")
        return Caller(credential_id=f"oid:{claims['oid']}", kind="token")

    async def _signing_key(self, kid: str | None):
        if self._jwks_url is None:
            raise jwt.InvalidTokenError("this emulator trusts no token issuer (start it with --jwks-url)")
        async with self._jwks_lock:
            stale = time.monotonic() - self._jwks_fetched_at > _JWKS_REFRESH_SECONDS
            if self._jwks is None or (stale and not self._has(kid)):
                # Entra rotates keys; a resource re-reads the key set when it meets a kid it does not know.
                async with aiohttp.ClientSession() as session:
                    async with session.get(self._jwks_url, timeout=aiohttp.ClientTimeout(total=5)) as response:
                        response.raise_for_status()
                        self._jwks = jwt.PyJWKSet.from_dict(await response.json())
                self._jwks_fetched_at = time.monotonic()
        if not self._has(kid):
            raise jwt.InvalidTokenError(f"unknown signing key {kid!r}")
        return self._jwks[kid].key

    def _has(self, kid: str | None) -> bool:
        return self._jwks is not None and any(k.key_id == kid for k in self._jwks.keys)
