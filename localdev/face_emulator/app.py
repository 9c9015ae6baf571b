"""The emulator's HTTP face: Face routes from the contract, the gateway's checks, and the `/_emulator/` controls."""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import aiohttp
from aiohttp import web

from .auth import Authenticator
from .contract import JSON, Contract, Operation
from .errors import FaceError
from .faults import FaultInjector
from .groups import ID_FIELDS, KINDS
from .model import Clock, Training
from .service import MAX_IMAGE_BYTES, TIERS, FaceService, Reply, ServiceConfig, iso
from .throttle import RateLimit, RateLimiter

FACE_PREFIX = "/face/{apiVersion}"
# Room for a 6 MB image plus slack, so that an oversized image gets the Face error, not a bare 413.
MAX_BODY_BYTES = MAX_IMAGE_BYTES + 2 * 1024 * 1024
# aiohttp answers an over-long request line or header itself, in plain text; with room to parse them, the
# request reaches the contract's own checks (userData at most 1 KB, start at most 64 characters) instead.
MAX_LINE_BYTES = 64 * 1024
URL_FETCH_SECONDS = 10
# Arrivals kept for the harnesses (GET /_emulator/calls): a long benchmark's worth, oldest dropped first.
MAX_ARRIVALS = 200_000
_CALLER, _THROTTLED = "emulator.caller", "emulator.throttled"  # what a call learned on its way, for its arrival
_FAULT_CODES = {429: "429", 500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable",
                504: "GatewayTimeout"}


@dataclass
class Stats:
    """Counters keyed by the v1.2 operationId whichever version was called, so figures add up across versions."""

    calls: Counter
    responses: defaultdict
    faults_injected: int = 0

    @classmethod
    def empty(cls) -> "Stats":
        return cls(Counter(), defaultdict(Counter))

    def to_json(self) -> dict[str, Any]:
        return {"calls": dict(self.calls), "responses": {k: dict(v) for k, v in self.responses.items()},
                "totalCalls": sum(self.calls.values()), "faultsInjected": self.faults_injected}


@dataclass(frozen=True)
class Arrival:
    """One Face call as it arrived: when (epoch seconds), which operation (its v1.2 operationId), how it was
    answered (a status, or "dropped"), who made it (`key` or `token`, None if it got no further than a fault), and
    whether the answer was the rate limit's 429 (not an injected one)."""

    at: float
    operation: str
    status: int | str
    caller: str | None
    throttled: bool

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "operation": self.operation, "status": self.status, "caller": self.caller,
                "throttled": self.throttled}


def peak_in_any_window(times: list[float], seconds: float) -> int:
    """The most of `times` that fall in any half-open window of `seconds`: a window starting at each time."""
    ordered, peak, first = sorted(times), 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - seconds:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


class _ConnectionDropped(Exception):
    """Raised after the transport was aborted on purpose: there is nobody left to answer."""


class Emulator:
    def __init__(self, *, key: str, clock: Clock, config: ServiceConfig, rate_limit: RateLimit,
                 jwks_url: str | None, fault_seed: int = 0) -> None:
        self.contract = Contract()
        self.service = FaceService(clock, config)
        self.auth = Authenticator(key, jwks_url)
        self.limiter = RateLimiter(rate_limit, clock)
        self.faults = FaultInjector(fault_seed)
        self.stats = Stats.empty()
        self.arrivals: deque[Arrival] = deque(maxlen=MAX_ARRIVALS)
        self.clock = clock
        self._fault_seed = fault_seed
        self._handlers: dict[str, Callable[[web.Request, Operation, dict[str, Any]], Awaitable[Reply]]] = {
            "FaceListOperations_CreateLargeFaceList": self._create_list,
            "FaceListOperations_GetLargeFaceList": self._get_list,
            "FaceListOperations_GetLargeFaceLists": self._list_lists,
            "FaceListOperations_UpdateLargeFaceList": self._update_list,
            "FaceListOperations_DeleteLargeFaceList": self._delete_list,
            "FaceListOperations_AddLargeFaceListFaceFromUrl": self._add_face_from_url,
            "FaceListOperations_AddLargeFaceListFace": self._add_face_from_stream,
            "FaceListOperations_GetLargeFaceListFaces": self._list_faces,
            "FaceListOperations_GetLargeFaceListFace": self._get_face,
            "FaceListOperations_UpdateLargeFaceListFace": self._update_face,
            "FaceListOperations_DeleteLargeFaceListFace": self._delete_face,
            "FaceListOperations_TrainLargeFaceList": self._train,
            "FaceListOperations_GetLargeFaceListTrainingStatus": self._training_status,
        }
        for kind, (noun, _) in KINDS.items():
            group_handlers = {
                f"Create{noun}": self._create_group, f"Get{noun}": self._get_group, f"Get{noun}s": self._list_groups,
                f"Update{noun}": self._update_group, f"Delete{noun}": self._delete_group,
                f"Create{noun}Person": self._create_person, f"Get{noun}Person": self._get_person,
                f"Get{noun}Persons": self._list_persons, f"Update{noun}Person": self._update_person,
                f"Delete{noun}Person": self._delete_person,
                f"Add{noun}PersonFaceFromUrl": self._add_person_face_from_url,
                f"Add{noun}PersonFace": self._add_person_face_from_stream,
                f"Get{noun}PersonFace": self._get_person_face, f"Update{noun}PersonFace": self._update_person_face,
                f"Delete{noun}PersonFace": self._delete_person_face,
                f"Train{noun}": self._train_group, f"Get{noun}TrainingStatus": self._group_training_status,
            }
            for name, handler in group_handlers.items():
                self._handlers[f"PersonGroupOperations_{name}"] = functools.partial(handler, kind)

    def build(self) -> web.Application:
        app = web.Application(middlewares=[self._face_errors], client_max_size=MAX_BODY_BYTES)
        for path in self.contract.paths:
            app.router.add_route("*", FACE_PREFIX + path, self._face_call)
        app.router.add_route("*", "/face/{tail:.*}", self._not_served)
        self._add_controls(app.router)
        return app

    # The Face API

    @web.middleware
    async def _face_errors(self, request: web.Request, handler) -> web.StreamResponse:
        if not request.path.startswith("/face/"):
            return await handler(request)
        try:
            response = await handler(request)
        except FaceError as error:
            response = _error_response(error)
        except _ConnectionDropped:
            return web.Response(status=499)  # never written: the transport is gone
        # Azure's gateway names every answer, so a client can quote it when it reports a problem (a fault may have
        # named it already, to test what a client does with a hostile one).
        response.headers.setdefault("apim-request-id", str(uuid.uuid4()))
        return response

    async def _not_served(self, request: web.Request) -> web.StreamResponse:
        raise FaceError.resource_not_found()

    async def _face_call(self, request: web.Request) -> web.StreamResponse:
        api_version = request.match_info["apiVersion"]
        path = request.match_info.route.resource.canonical.removeprefix(FACE_PREFIX)
        media_type = request.content_type if "Content-Type" in request.headers else None
        operation = self.contract.find(api_version, request.method, path, media_type)
        if operation is None:
            allowed = self.contract.methods(api_version, path)
            if not allowed:
                raise FaceError.resource_not_found()
            raise FaceError(405, "405", f"Method {request.method} is not allowed here.", {"Allow": ", ".join(allowed)})
        self.stats.calls[operation.canonical_id] += 1
        arrived_at = time.time()
        try:
            reply = await self._run(request, operation)
            if isinstance(reply, web.Response):  # a fault's own answer, passed through as it is
                self._answered(request, operation, arrived_at, reply.status)
                return reply
        except FaceError as error:
            self._answered(request, operation, arrived_at, error.status)
            raise
        except _ConnectionDropped:
            self._answered(request, operation, arrived_at, "dropped")
            raise
        self._answered(request, operation, arrived_at, reply.status)
        if reply.body is None:
            # Every operation `produces` application/json, the empty 200s and the 202 included.
            return web.Response(status=reply.status, headers=reply.headers, content_type=JSON)
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    def _answered(self, request: web.Request, operation: Operation, arrived_at: float, status: int | str) -> None:
        self.stats.responses[operation.canonical_id][str(status)] += 1
        self.arrivals.append(Arrival(arrived_at, operation.canonical_id, status, request.get(_CALLER),
                                     request.get(_THROTTLED, False)))

    async def _run(self, request: web.Request, operation: Operation) -> Reply | web.Response:
        decision = self.faults.decide(request.method, request.path.removeprefix(f"/face/{operation.api_version}"))
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        rule = decision.rule
        if rule is not None:
            self.stats.faults_injected += 1
            if rule.drop_connection:
                request.transport.abort()
                raise _ConnectionDropped()
            headers = {"Retry-After": str(rule.retry_after_seconds)} if rule.retry_after_seconds else {}
            headers.update(decision.headers)
            if rule.body is not None:
                return web.Response(status=rule.status, body=rule.body.encode(), headers=headers,
                                    content_type=rule.content_type)
            raise FaceError(rule.status, rule.code or _FAULT_CODES.get(rule.status, str(rule.status)),
                            "Injected fault.", headers)
        caller = await self.auth.authenticate(request.headers, operation.api_version)
        request[_CALLER] = caller.kind
        try:
            self.limiter.admit()
        except FaceError:
            request[_THROTTLED] = True
            raise
        params = operation.coerce_parameters(request.match_info, request.query)
        reply = await self._handlers[operation.canonical_id](request, operation, params)
        if decision.headers or decision.drop_headers:
            self.stats.faults_injected += 1
            kept = {k: v for k, v in reply.headers.items() if k.lower() not in decision.drop_headers}
            reply = Reply(reply.status, reply.body, {**kept, **decision.headers})
        return reply

    async def _json_body(self, request: web.Request, operation: Operation) -> Any:
        raw = await _read_body(request, FaceError.bad_argument("Request body is too large."))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if body is None:
            raise FaceError.bad_argument("Request body is invalid.")
        operation.validate_body(body)
        return body

    async def _create_list(self, request, operation, params) -> Reply:
        return self.service.create_list(params["largeFaceListId"], await self._json_body(request, operation))

    async def _get_list(self, request, operation, params) -> Reply:
        return self.service.get_list(params["largeFaceListId"], params.get("returnRecognitionModel", False))

    async def _list_lists(self, request, operation, params) -> Reply:
        return self.service.list_lists(params.get("start"), params.get("top", 1000),
                                       params.get("returnRecognitionModel", False))

    async def _update_list(self, request, operation, params) -> Reply:
        return self.service.update_list(params["largeFaceListId"], await self._json_body(request, operation))

    async def _delete_list(self, request, operation, params) -> Reply:
        return self.service.delete_list(params["largeFaceListId"])

    async def _add_face_from_url(self, request, operation, params) -> Reply:
        body = await self._json_body(request, operation)
        self.service.get_list(params["largeFaceListId"], False)  # a missing list is reported before a download
        image = await _download(body["url"])
        return self.service.add_face(params["largeFaceListId"], image, params.get("targetFace"),
                                     params.get("userData"))

    async def _add_face_from_stream(self, request, operation, params) -> Reply:
        image = await _read_body(request, FaceError(400, "InvalidImageSize", "Image size is too big."))
        return self.service.add_face(params["largeFaceListId"], image, params.get("targetFace"),
                                     params.get("userData"))

    async def _list_faces(self, request, operation, params) -> Reply:
        return self.service.list_faces(params["largeFaceListId"], params.get("start"), params.get("top", 1000))

    async def _get_face(self, request, operation, params) -> Reply:
        return self.service.get_face(params["largeFaceListId"], params["persistedFaceId"])

    async def _update_face(self, request, operation, params) -> Reply:
        return self.service.update_face(params["largeFaceListId"], params["persistedFaceId"],
                                        await self._json_body(request, operation))

    async def _delete_face(self, request, operation, params) -> Reply:
        return self.service.delete_face(params["largeFaceListId"], params["persistedFaceId"])

    async def _train(self, request, operation, params) -> Reply:
        list_id = params["largeFaceListId"]
        training_url = f"{request.scheme}://{request.host}/face/{operation.api_version}/largefacelists/{list_id}/training"
        return self.service.train(list_id, operation.api_version, training_url)

    async def _training_status(self, request, operation, params) -> Reply:
        return self.service.training_status(params["largeFaceListId"], operation.api_version)

    # Person Groups and Large Person Groups: `kind` is the collection, and the group's id is its path parameter.

    async def _create_group(self, kind, request, operation, params) -> Reply:
        self.service.groups.create_group(kind, _group_id(kind, params), await self._json_body(request, operation))
        return Reply(200)

    async def _get_group(self, kind, request, operation, params) -> Reply:
        return Reply(200, self.service.groups.get_group(kind, _group_id(kind, params),
                                                        params.get("returnRecognitionModel", False)))

    async def _list_groups(self, kind, request, operation, params) -> Reply:
        return Reply(200, self.service.groups.list_groups(kind, params.get("start"), params.get("top", 1000),
                                                          params.get("returnRecognitionModel", False)))

    async def _update_group(self, kind, request, operation, params) -> Reply:
        self.service.groups.update_group(kind, _group_id(kind, params), await self._json_body(request, operation))
        return Reply(200)

    async def _delete_group(self, kind, request, operation, params) -> Reply:
        self.service.groups.delete_group(kind, _group_id(kind, params))
        return Reply(200)

    async def _create_person(self, kind, request, operation, params) -> Reply:
        body = await self._json_body(request, operation)
        return Reply(200, self.service.groups.create_person(kind, _group_id(kind, params), body))

    async def _get_person(self, kind, request, operation, params) -> Reply:
        return Reply(200, self.service.groups.get_person(kind, _group_id(kind, params), params["personId"]))

    async def _list_persons(self, kind, request, operation, params) -> Reply:
        return Reply(200, self.service.groups.list_persons(kind, _group_id(kind, params), params.get("start"),
                                                           params.get("top", 1000)))

    async def _update_person(self, kind, request, operation, params) -> Reply:
        body = await self._json_body(request, operation)
        self.service.groups.update_person(kind, _group_id(kind, params), params["personId"], body)
        return Reply(200)

    async def _delete_person(self, kind, request, operation, params) -> Reply:
        self.service.groups.delete_person(kind, _group_id(kind, params), params["personId"])
        return Reply(200)

    async def _add_person_face_from_url(self, kind, request, operation, params) -> Reply:
        body = await self._json_body(request, operation)
        self.service.groups.person(kind, _group_id(kind, params), params["personId"])  # reported before a download
        image = await _download(body["url"])
        return self.service.add_group_face(kind, _group_id(kind, params), params["personId"], image,
                                           params.get("targetFace"), params.get("userData"))

    async def _add_person_face_from_stream(self, kind, request, operation, params) -> Reply:
        image = await _read_body(request, FaceError(400, "InvalidImageSize", "Image size is too big."))
        return self.service.add_group_face(kind, _group_id(kind, params), params["personId"], image,
                                           params.get("targetFace"), params.get("userData"))

    async def _get_person_face(self, kind, request, operation, params) -> Reply:
        return Reply(200, self.service.groups.get_face(kind, _group_id(kind, params), params["personId"],
                                                       params["persistedFaceId"]))

    async def _update_person_face(self, kind, request, operation, params) -> Reply:
        body = await self._json_body(request, operation)
        self.service.groups.update_face(kind, _group_id(kind, params), params["personId"], params["persistedFaceId"], body)
        return Reply(200)

    async def _delete_person_face(self, kind, request, operation, params) -> Reply:
        self.service.groups.delete_face(kind, _group_id(kind, params), params["personId"], params["persistedFaceId"])
        return Reply(200)

    async def _train_group(self, kind, request, operation, params) -> Reply:
        group_id = _group_id(kind, params)
        training_url = f"{request.scheme}://{request.host}/face/{operation.api_version}/{kind}/{group_id}/training"
        return self.service.train_group(kind, group_id, operation.api_version, training_url)

    async def _group_training_status(self, kind, request, operation, params) -> Reply:
        return self.service.group_training_status(kind, _group_id(kind, params), operation.api_version)

    # The control surface

    def _add_controls(self, router: web.UrlDispatcher) -> None:
        router.add_get("/_emulator/health", self._health)
        router.add_get("/_emulator/stats", self._get_stats)
        router.add_get("/_emulator/trainings", self._get_trainings)
        router.add_get("/_emulator/calls", self._get_calls)
        router.add_get("/_emulator/faults", self._get_faults)
        router.add_post("/_emulator/faults", self._add_fault)
        router.add_delete("/_emulator/faults", self._clear_faults)
        router.add_put("/_emulator/largefacelists/{listId}/training-failure",
                       functools.partial(self._fail_trainings, "largefacelists"))
        router.add_delete("/_emulator/largefacelists/{listId}/training-failure",
                          functools.partial(self._stop_failing_trainings, "largefacelists"))
        router.add_post("/_emulator/largefacelists/{listId}/faces", self._add_synthetic_faces)
        for kind in KINDS:
            router.add_put(f"/_emulator/{kind}/{{groupId}}/training-failure",
                           functools.partial(self._fail_trainings, kind))
            router.add_delete(f"/_emulator/{kind}/{{groupId}}/training-failure",
                              functools.partial(self._stop_failing_trainings, kind))
            router.add_post(f"/_emulator/{kind}/{{groupId}}/persons",
                            functools.partial(self._add_synthetic_persons, kind))
        router.add_get("/_emulator/config", self._get_config)
        router.add_patch("/_emulator/config", self._update_config)
        router.add_post("/_emulator/reset", self._reset)

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.to_json())

    async def _get_calls(self, request: web.Request) -> web.Response:
        """Each Face call's arrival, oldest first: `since` (epoch seconds) and `caller` (`key` or `token`) narrow
        them; `peakPerSecond` is the most that arrived in any one-second window."""
        try:
            since = float(request.query.get("since", "0"))
        except ValueError:
            raise _control_error("since must be seconds since the epoch") from None
        caller = request.query.get("caller")
        calls = [a for a in self.arrivals if a.at >= since and (caller is None or a.caller == caller)]
        return web.json_response({"calls": [a.to_json() for a in calls],
                                  "peakPerSecond": peak_in_any_window([a.at for a in calls], 1.0)})

    async def _get_trainings(self, request: web.Request) -> web.Response:
        now = self.clock()
        return web.json_response([_training_json(t, now) for t in self.service.trainings()])

    async def _get_faults(self, request: web.Request) -> web.Response:
        return web.json_response([rule.to_json() for rule in self.faults.rules])

    async def _add_fault(self, request: web.Request) -> web.Response:
        data = await _control_body(request)
        try:
            rule = self.faults.add(data)
        except ValueError as error:
            raise _control_error(str(error)) from None
        return web.json_response(rule.to_json(), status=201)

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.Response(status=204)

    async def _fail_trainings(self, kind: str, request: web.Request) -> web.Response:
        data = await _control_body(request)
        count = data.get("count")
        if count is not None and not (isinstance(count, int) and count >= 1):
            raise _control_error("count must be a whole number of at least 1, or absent for every training")
        message = data.get("message") or "Training failed (injected by the emulator)."
        self.service.fail_trainings(_failure_key(kind, request), str(message), count)
        return web.Response(status=204)

    async def _stop_failing_trainings(self, kind: str, request: web.Request) -> web.Response:
        self.service.failure_plans.pop(_failure_key(kind, request), None)
        return web.Response(status=204)

    async def _add_synthetic_persons(self, kind: str, request: web.Request) -> web.Response:
        data = await _control_body(request)
        count, faces_per_person = data.get("count"), data.get("facesPerPerson", 1)
        if not (isinstance(count, int) and count >= 1) or not isinstance(faces_per_person, int):
            raise _control_error("count must be a whole number of at least 1, and facesPerPerson a whole number")
        group_id = request.match_info["groupId"]
        try:
            total = self.service.groups.add_synthetic_persons(kind, group_id, count, faces_per_person)
        except FaceError as error:
            raise _control_error(error.message, status=error.status) from None
        except ValueError as error:
            raise _control_error(str(error)) from None
        return web.json_response({"kind": kind, "groupId": group_id, "personCount": total})

    async def _add_synthetic_faces(self, request: web.Request) -> web.Response:
        data = await _control_body(request)
        count = data.get("count")
        if not (isinstance(count, int) and count >= 1):
            raise _control_error("count must be a whole number of at least 1")
        try:
            total = self.service.add_synthetic_faces(request.match_info["listId"], count)
        except FaceError as error:
            raise _control_error(error.message, status=error.status) from None
        except ValueError as error:
            raise _control_error(str(error)) from None
        return web.json_response({"listId": request.match_info["listId"], "faceCount": total})

    async def _get_config(self, request: web.Request) -> web.Response:
        return web.json_response({**self.service.config.to_json(), "rateLimit": self.limiter.limit.to_json(),
                                  "keyAuth": self.auth.key_auth_enabled})

    async def _update_config(self, request: web.Request) -> web.Response:
        data = await _control_body(request)
        try:
            rate_limit = _rate_limit_from_json(data["rateLimit"]) if "rateLimit" in data else None
            if rate_limit is None and data.get("tier") in TIERS:
                rate_limit = RateLimit.parse(TIERS[data["tier"]].rate_limit)  # a tier brings its own rate
            key_auth = data.pop("keyAuth", None)
            if key_auth is not None and not isinstance(key_auth, bool):
                raise ValueError("keyAuth must be true or false")
            self.service.config.update(data)
        except ValueError as error:
            raise _control_error(str(error)) from None
        if rate_limit is not None:
            self.limiter.limit = rate_limit
            self.limiter.reset()
        if key_auth is not None:
            self.auth.key_auth_enabled = key_auth
        return await self._get_config(request)

    async def _reset(self, request: web.Request) -> web.Response:
        """Forget lists, trainings, counters, faults and throttling windows; settings stay as they are."""
        self.service.reset()
        self.stats = Stats.empty()
        self.arrivals.clear()
        self.faults.clear(seed=self._fault_seed)
        self.limiter.reset()
        return web.Response(status=204)


def _failure_key(kind: str, request: web.Request) -> str:
    """A planned failure's key: a list's id, or `{kind}/{id}` for a group (FaceService.failure_plans)."""
    if kind == "largefacelists":
        return request.match_info["listId"]
    return f"{kind}/{request.match_info['groupId']}"


def _group_id(kind: str, params: dict[str, Any]) -> str:
    return params[ID_FIELDS[kind]]


# Each collection's id field, as the orchestrator's requests and events name it.
_ID_FIELDS = {"largefacelists": "listId", **ID_FIELDS}


def _training_json(training: Training, now: float) -> dict[str, Any]:
    """A training's true timeline. A list's counts its faces, a group's its persons: what its time follows."""
    count = "faceCount" if training.collection == "largefacelists" else "personCount"
    return {"id": training.training_id, "kind": training.collection,
            _ID_FIELDS[training.collection]: training.container_id, "apiVersion": training.api_version,
            "status": training.status(now), count: training.entries, "submittedAt": iso(training.submitted_at),
            "startedAt": iso(training.started_at),
            "finishedAt": iso(training.finished_at) if training.finished_at <= now else None,
            "durationSeconds": round(training.finished_at - training.submitted_at, 3)}


def _rate_limit_from_json(value: Any) -> RateLimit:
    if isinstance(value, str):
        return RateLimit.parse(value)
    if isinstance(value, dict) and isinstance(value.get("calls"), int) and value["calls"] >= 1 \
            and isinstance(value.get("perSeconds"), (int, float)) and value["perSeconds"] > 0:
        return RateLimit(value["calls"], float(value["perSeconds"]))
    raise ValueError('rateLimit must be like "20/min" or {"calls": 20, "perSeconds": 60}')


def _error_response(error: FaceError, extra_headers: dict[str, str] | None = None) -> web.Response:
    headers = {"x-ms-error-code": error.code, **error.headers, **(extra_headers or {})}
    return web.json_response(error.body(), status=error.status, headers=headers)


def _control_error(message: str, status: int = 400) -> web.HTTPException:
    error_class = {400: web.HTTPBadRequest, 404: web.HTTPNotFound}[status]
    return error_class(text=json.dumps({"error": message}), content_type=JSON)


async def _control_body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json() if await request.read() else {}
    except ValueError:
        raise _control_error("the body is not JSON") from None
    if not isinstance(data, dict):
        raise _control_error("the body must be a JSON object")
    return data


async def _read_body(request: web.Request, too_large: FaceError) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None


async def _download(url: str) -> bytes:
    if not url.lower().startswith(("http://", "https://")):
        raise FaceError(400, "InvalidURL", "Invalid image URL.")
    try:
        timeout = aiohttp.ClientTimeout(total=URL_FETCH_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(url) as response:
                if response.status != 200:
                    raise FaceError(400, "InvalidURL", f"Failed to download image from the URL: the server "
                                                       f"answered {response.status}.")
                return await response.content.read(MAX_IMAGE_BYTES + 1)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        raise FaceError(400, "InvalidURL", f"Failed to download image from the URL: {type(error).__name__}.") from None
