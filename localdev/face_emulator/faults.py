"""Faults injected on purpose, so that clients can be tested against a misbehaving service.

A rule matches Face calls by method and a regular expression on the path (after `/face/{apiVersion}`), and fires
for its next `count` matches or at random with probability `rate` (seeded, so a run can be replayed). When it
fires it adds latency, then answers with an error status, answers with a body of its own (a gateway's HTML page,
a megabyte of message), or drops the connection without answering; or it lets the real answer through with
headers added (a huge `apim-request-id`) or removed (an `operation-Location` lost on the way).
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FaultRule:
    rule_id: int
    path_pattern: re.Pattern[str]
    method: str | None
    status: int | None
    code: str | None
    retry_after_seconds: int | None
    drop_connection: bool
    latency_ms: int
    count: int | None
    rate: float | None
    body: str | None = None
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)
    drop_headers: frozenset[str] = frozenset()
    fired: int = 0

    @property
    def answers(self) -> bool:
        """Whether the rule replaces the real answer (else it only delays or alters it)."""
        return self.status is not None or self.drop_connection or self.body is not None

    @classmethod
    def from_json(cls, rule_id: int, data: dict[str, Any]) -> "FaultRule":
        known = {"pathPattern", "method", "status", "code", "retryAfterSeconds", "dropConnection", "latencyMs",
                 "count", "rate", "body", "contentType", "headers", "dropHeaders"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        status, drop, latency = data.get("status"), bool(data.get("dropConnection", False)), data.get("latencyMs", 0)
        body, headers, drop_headers = data.get("body"), data.get("headers") or {}, data.get("dropHeaders") or []
        if status is None and not drop and not latency and body is None and not headers and not drop_headers:
            raise ValueError("a fault needs status, body, dropConnection, latencyMs, headers or dropHeaders")
        if body is not None:
            status = 200 if status is None else status
            if not isinstance(body, str) or not (isinstance(status, int) and 200 <= status <= 599):
                raise ValueError("body must be text, answered with a status from 200 to 599 (default 200)")
        elif status is not None and not (isinstance(status, int) and 400 <= status <= 599):
            raise ValueError("status must be an HTTP error status (400-599), or any from 200 with a body")
        if not (isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())):
            raise ValueError("headers must map header names to text")
        if not (isinstance(drop_headers, list) and all(isinstance(h, str) for h in drop_headers)):
            raise ValueError("dropHeaders must be a list of header names")
        count, rate = data.get("count"), data.get("rate")
        if (count is None) == (rate is None):
            raise ValueError("give exactly one of count (next N matching calls) or rate (probability 0-1)")
        if count is not None and not (isinstance(count, int) and count >= 1):
            raise ValueError("count must be a whole number of at least 1")
        if rate is not None and not (isinstance(rate, (int, float)) and 0 < rate <= 1):
            raise ValueError("rate must be a probability in (0, 1]")
        if not (isinstance(latency, int) and 0 <= latency <= 600_000):
            raise ValueError("latencyMs must be a whole number of milliseconds up to 600000")
        try:
            pattern = re.compile(data.get("pathPattern", ".*"))
        except re.error as error:
            raise ValueError(f"pathPattern is not a regular expression: {error}") from None
        return cls(rule_id, pattern, (data.get("method") or "").upper() or None, status, data.get("code"),
                   data.get("retryAfterSeconds"), drop, latency, count, rate, body,
                   str(data.get("contentType") or "text/html"), dict(headers),
                   frozenset(h.lower() for h in drop_headers))

    def to_json(self) -> dict[str, Any]:
        # A body may be a megabyte: the listing says how long it is instead.
        return {"id": self.rule_id, "pathPattern": self.path_pattern.pattern, "method": self.method,
                "status": self.status, "code": self.code, "retryAfterSeconds": self.retry_after_seconds,
                "dropConnection": self.drop_connection, "latencyMs": self.latency_ms, "count": self.count,
                "rate": self.rate, "bodyChars": None if self.body is None else len(self.body),
                "contentType": self.content_type, "headers": {k: v[:80] for k, v in self.headers.items()},
                "dropHeaders": sorted(self.drop_headers), "fired": self.fired}


@dataclass(frozen=True)
class FaultDecision:
    latency_ms: int = 0
    rule: FaultRule | None = None  # the rule whose answer replaces the real one, if any
    headers: dict[str, str] = field(default_factory=dict)  # added to whichever answer goes out
    drop_headers: frozenset[str] = frozenset()  # removed from the real answer


@dataclass
class FaultInjector:
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._ids = itertools.count(1)

    def add(self, data: dict[str, Any]) -> FaultRule:
        rule = FaultRule.from_json(next(self._ids), data)
        self.rules.append(rule)
        return rule

    def clear(self, seed: int | None = None) -> None:
        self.rules.clear()
        if seed is not None:
            self._random.seed(seed)

    def decide(self, method: str, path: str) -> FaultDecision:
        latency, answering, headers, drop_headers = 0, None, {}, frozenset()
        for rule in self.rules:
            if rule.method not in (None, method) or not rule.path_pattern.search(path):
                continue
            if rule.count is not None:
                if rule.fired >= rule.count:
                    continue
            elif self._random.random() >= rule.rate:
                continue
            rule.fired += 1
            latency += rule.latency_ms
            headers.update(rule.headers)
            drop_headers |= rule.drop_headers
            if answering is None and rule.answers:
                answering = rule
        return FaultDecision(latency, answering, headers, drop_headers)
