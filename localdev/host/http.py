"""HTTP triggers: routes under `/api/`, auth levels, the request handed to the worker runtime as the host's
`RpcHttp`, and the response sent as the runtime encoded it.

Route templates are the host's (`trainings/{first?}/{second?}`; a `{name:constraint}` constraint is accepted but not
enforced). Function and admin levels need the key, in `x-functions-key` or `?code=`; anonymous needs none.
"""

from __future__ import annotations

import asyncio
import hmac
import re

from aiohttp import web

from .binding_data import http_trigger
from .config import HttpFunction
from .invocations import InvocationFailed, Invoker

ROUTE_PREFIX = "/api"
_PARAMETER = re.compile(r"\{(\w+)(?::[^}?]*)?(\?)?\}")


def build_app(functions: list[HttpFunction], invoker: Invoker, function_key: str) -> web.Application:
    app = web.Application()
    for function in functions:
        for path in aiohttp_paths(function.route):
            for method in function.methods or ("*",):
                app.router.add_route(method, ROUTE_PREFIX + path, _handler(function, invoker, function_key))
    return app


def aiohttp_paths(route: str) -> list[str]:
    """`a/{x?}/{y?}` becomes `/a/{x}/{y}`, `/a/{x}` and `/a`: aiohttp has no optional parameters, and the host lets
    a request leave out trailing optional segments, the last first."""
    segments = [segment for segment in route.strip("/").split("/") if segment]
    kept = len(segments)
    paths = []
    while True:
        path = "/" + "/".join(_PARAMETER.sub(lambda m: "{" + m.group(1) + "}", s) for s in segments[:kept])
        paths.append(path)
        if kept == 0 or not _optional(segments[kept - 1]):
            return paths
        kept -= 1


def _optional(segment: str) -> bool:
    match = _PARAMETER.fullmatch(segment)
    return match is not None and match.group(2) is not None


def _handler(function: HttpFunction, invoker: Invoker, function_key: str):
    async def handle(request: web.Request) -> web.Response:
        if function.auth_level != "anonymous":
            presented = request.headers.get("x-functions-key") or request.query.get("code") or ""
            if not hmac.compare_digest(presented.encode(), function_key.encode()):
                return web.Response(status=401)  # the host answers 401 with no body
        data = http_trigger(invoker.protos, method=request.method, url=str(request.url),
                            headers=list(request.headers.items()), query=list(request.query.items()),
                            route_values=dict(request.match_info), body=await request.read())
        loop = asyncio.get_running_loop()
        try:
            returned = await loop.run_in_executor(None, lambda: invoker.invoke(
                function.name, function.function_id, {function.arg_name: data}, {}, trigger="http",
                method=request.method, path=request.path))
        except InvocationFailed:
            return web.Response(status=500)  # as the host: the error is in the log, not in the answer
        if returned is None or returned.WhichOneof("data") != "http":
            return web.Response(status=500, text="the function returned no HTTP response")
        answer = returned.http
        body = answer.body.bytes if answer.body.WhichOneof("data") == "bytes" else answer.body.string.encode()
        return web.Response(status=int(answer.status_code), body=body, headers=dict(answer.headers))

    return handle
