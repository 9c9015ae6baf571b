"""HTTP triggers: routes under `/api/`, auth levels, and the function's HttpResponse returned as it is.

Route templates are the host's (`trainings/{listId?}`; a `{name:constraint}` constraint is accepted but not
enforced). Function and admin levels need the key, in `x-functions-key` or `?code=`; anonymous needs none.
"""

from __future__ import annotations

import asyncio
import hmac
import re

import azure.functions as func
from aiohttp import web

from .config import HttpFunction
from .invocations import invoke

ROUTE_PREFIX = "/api"
_PARAMETER = re.compile(r"\{(\w+)(?::[^}?]*)?(\?)?\}")


def build_app(functions: list[HttpFunction], function_key: str) -> web.Application:
    app = web.Application()
    for function in functions:
        for path in aiohttp_paths(function.route):
            for method in function.methods:
                app.router.add_route(method, ROUTE_PREFIX + path, _handler(function, function_key))
    return app


def aiohttp_paths(route: str) -> list[str]:
    """`a/{x?}` becomes `/a/{x}` and `/a`: aiohttp has no optional parameters."""
    route = "/" + route.strip("/")
    optional = [m for m in _PARAMETER.finditer(route) if m.group(2)]
    full = _PARAMETER.sub(lambda m: "{" + m.group(1) + "}", route)
    if not optional:
        return [full]
    shortened = _PARAMETER.sub(lambda m: "" if m.group(2) else "{" + m.group(1) + "}", route)
    return [full, re.sub(r"/+$", "", re.sub(r"//+", "/", shortened)) or "/"]


def _handler(function: HttpFunction, function_key: str):
    async def handle(request: web.Request) -> web.Response:
        if function.auth_level != "anonymous":
            presented = request.headers.get("x-functions-key") or request.query.get("code") or ""
            if not hmac.compare_digest(presented.encode(), function_key.encode()):
                return web.Response(status=401)  # the host answers 401 with no body
        http_request = func.HttpRequest(
            method=request.method, url=str(request.url), headers=dict(request.headers),
            params=dict(request.query), route_params=dict(request.match_info), body=await request.read())
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, lambda: invoke(
            function.name, function.function, {function.arg_name: http_request}, trigger="http",
            method=request.method, path=request.path))
        if not isinstance(result, func.HttpResponse):
            return web.Response(status=500, text="the function returned no HttpResponse")
        headers = {k: v for k, v in result.headers.items() if k.lower() != "content-type"}
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers,
                            content_type=(result.mimetype or "text/plain"), charset=result.charset)

    return handle
