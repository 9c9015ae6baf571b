"""A local managed-identity endpoint speaking App Service's protocol, so azure-identity works unchanged.

    python -m localdev.identity_endpoint --port N [--header SECRET] [--user-assigned CLIENT_ID ...]

The app gets `IDENTITY_ENDPOINT=http://127.0.0.1:N/msi/token` and `IDENTITY_HEADER=SECRET`, exactly as App Service
and Azure Functions set them; `ManagedIdentityCredential` and `DefaultAzureCredential` then call
`GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...[&client_id=...]` with `X-IDENTITY-HEADER`.
The key set that verifies its tokens is at `/.well-known/jwks.json`; the Face emulator reads it from there.
`POST /_control/outage {"status": 503, "seconds": 30}` makes the token endpoint answer that status for a while
(an outage of the platform's identity service); `DELETE /_control/outage` ends it.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from .tokens import FACE_ROLE, SigningKey, principal_id

API_VERSION = "2019-08-01"
TOKEN_PATH = "/msi/token"
JWKS_PATH = "/.well-known/jwks.json"
SYSTEM_ASSIGNED = "system-assigned"
# App Service hands out tokens valid for about a day; azure-identity refreshes them well before expiry.
DEFAULT_TOKEN_LIFETIME_SECONDS = 24 * 3600


@dataclass
class IdentityConfig:
    header_secret: str
    user_assigned: frozenset[str]
    without_face_role: frozenset[str]
    token_lifetime_seconds: int


def build_app(config: IdentityConfig, signing_key: SigningKey) -> web.Application:
    outage: dict[str, float] = {}  # "status" and "until" (monotonic seconds) while an outage lasts

    async def token(request: web.Request) -> web.Response:
        if outage and time.monotonic() < outage["until"]:
            return _failure(int(outage["status"]), "The identity service is unavailable (simulated outage).")
        presented = request.headers.get("X-IDENTITY-HEADER")
        if presented is None:
            return _failure(400, "The X-IDENTITY-HEADER header is missing.")
        if not hmac.compare_digest(presented.encode(), config.header_secret.encode()):
            return _failure(401, "The X-IDENTITY-HEADER header does not match IDENTITY_HEADER.")
        if request.query.get("api-version") != API_VERSION:
            return _failure(400, f"api-version must be {API_VERSION}.")
        resource = request.query.get("resource")
        if not resource:
            return _failure(400, "The resource parameter is required.")
        if "mi_res_id" in request.query or "object_id" in request.query or "principal_id" in request.query:
            return _failure(400, "This endpoint knows user-assigned identities by client_id only.")
        client_id = request.query.get("client_id") or SYSTEM_ASSIGNED
        if client_id != SYSTEM_ASSIGNED and client_id not in config.user_assigned:
            return _failure(400, f"No user-assigned identity with client_id {client_id} is assigned to this app.")
        roles = [] if client_id in config.without_face_role else [FACE_ROLE]
        access_token, expires_on = signing_key.mint(
            audience=resource.removesuffix("/"), client_id=client_id, roles=roles,
            lifetime_seconds=config.token_lifetime_seconds,
        )
        return web.json_response({"access_token": access_token, "expires_on": str(expires_on),
                                  "resource": resource, "token_type": "Bearer", "client_id": client_id})

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response(signing_key.jwks())

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def start_outage(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            status, seconds = int(body.get("status", 503)), float(body["seconds"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return _failure(400, 'Give {"status": 400-599, "seconds": N}.')
        if not 400 <= status <= 599 or seconds <= 0:
            return _failure(400, 'Give {"status": 400-599, "seconds": N}.')
        outage.update(status=status, until=time.monotonic() + seconds)
        return web.json_response({"status": status, "seconds": seconds})

    async def end_outage(request: web.Request) -> web.Response:
        outage.clear()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/_control/outage", start_outage)
    app.router.add_delete("/_control/outage", end_outage)
    app.router.add_get(TOKEN_PATH, token)
    app.router.add_get(JWKS_PATH, jwks)
    app.router.add_get("/health", health)
    return app


def _failure(status: int, message: str) -> web.Response:
    # App Service's error body, which MSAL reads as {statusCode, message}.
    return web.json_response({"statusCode": status, "message": message}, status=status)


async def serve(args: argparse.Namespace) -> None:
    config = IdentityConfig(
        header_secret=args.header,
        user_assigned=frozenset(args.user_assigned),
        without_face_role=frozenset(args.without_face_role),
        token_lifetime_seconds=args.token_lifetime,
    )
    runner = web.AppRunner(build_app(config, SigningKey.load_or_create(args.key_file)), access_log=None,
                           handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    identities = [SYSTEM_ASSIGNED, *args.user_assigned]
    print(f"Identity endpoint serving http://{args.host}:{args.port}{TOKEN_PATH} for "
          + ", ".join(f"{i} (oid {principal_id(i)})" for i in identities), flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.identity_endpoint", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--header", default=None, help="the IDENTITY_HEADER secret (default: random, printed)")
    parser.add_argument("--key-file", type=Path, default=Path(".localdev/identity-signing-key.json"),
                        help="token signing key, created if missing (default .localdev/identity-signing-key.json)")
    parser.add_argument("--user-assigned", action="append", default=[], metavar="CLIENT_ID",
                        help="a user-assigned identity's client id (repeatable)")
    parser.add_argument("--without-face-role", action="append", default=[], metavar="CLIENT_ID",
                        help=f"an identity that holds no Face role ('{SYSTEM_ASSIGNED}' for the system one)")
    parser.add_argument("--token-lifetime", type=int, default=DEFAULT_TOKEN_LIFETIME_SECONDS, metavar="SECONDS")
    args = parser.parse_args(argv)
    if args.header is None:
        args.header = secrets.token_urlsafe(24)
        print(f"IDENTITY_HEADER={args.header}", flush=True)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
