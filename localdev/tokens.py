"""Signing keys and access tokens shaped like Entra ID's, shared by the identity endpoint and the tests.

Tokens are RS256 JWTs with the claims a resource checks (`aud`, `iss`, `exp`, `oid`, `appid`, `tid`). The
resource's RBAC lookup has no local equivalent, so the token's `roles` claim carries the Azure roles its
principal holds on the Face resource; the emulator checks that claim instead.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT_ID = "72f988bf-0000-4000-8000-00000000f00d"
ISSUER = f"https://sts.windows.net/{TENANT_ID}/"
FACE_ROLE = "Cognitive Services User"
_PRINCIPAL_NAMESPACE = uuid.UUID("8f4a7a0e-63f4-4b52-9d1c-6c1c0f5e2a11")


def principal_id(client_id: str) -> str:
    """A stable object id per identity, so tests and logs can name the principal a token stands for."""
    return str(uuid.uuid5(_PRINCIPAL_NAMESPACE, client_id))


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def load_or_create(cls, path: Path) -> "SigningKey":
        if path.exists():
            data = json.loads(path.read_text())
            return cls(data["kid"], serialization.load_pem_private_key(data["pem"].encode(), password=None))
        key = cls(str(uuid.uuid4()), rsa.generate_private_key(public_exponent=65537, key_size=2048))
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"kid": key.key_id, "pem": pem}))
        temporary.chmod(0o600)
        temporary.replace(path)
        return key

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [{**public, "kid": self.key_id, "use": "sig", "alg": "RS256"}]}

    def mint(self, *, audience: str, client_id: str, roles: list[str], lifetime_seconds: int,
             now: float | None = None, **extra_claims: Any) -> tuple[str, int]:
        """Return a signed token and its expiry (epoch seconds)."""
        issued = int(now if now is not None else time.time())
        expires = issued + lifetime_seconds
        oid = principal_id(client_id)
        claims = {
            "aud": audience, "iss": ISSUER, "iat": issued, "nbf": issued, "exp": expires, "tid": TENANT_ID,
            "oid": oid, "sub": oid, "appid": client_id, "idtyp": "app", "roles": roles, **extra_claims,
        }
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.key_id}), expires
