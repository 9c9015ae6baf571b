"""Faults injected on purpose, so that clients can be tested against a misbehaving service.

A rule matches Face calls by method and a regular expression on the path (after `/face/{apiVersion}`), and fires
for its next `count` matches or at random with probability `rate` (seeded, so a run can be replayed). When it
fires it adds latency, then answers with an error status or drops the connection without answering.
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
    fired: int = 0

    @classmethod
    def from_json(cls, rule_id: int, data: dict[str, Any]) -> "FaultRule":
        known = {"pathPattern", "method", "status", "code", "retryAfterSeconds", "dropConnection", "latencyMs",
                 "count", "rate"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        status, drop, latency = data.get("status"), bool(data.get("dropConnection", False)), data.get("latencyMs", 0)
        if status is None and not drop and not latency:
            raise ValueError("a fault needs status, dropConnection or latencyMs")
        if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
            raise ValueError("status must be an HTTP error status (400-599)")
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
                   data.get("retryAfterSeconds"), drop, latency, count, rate)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.rule_id, "pathPattern": self.path_pattern.pattern, "method": self.method,
                "status": self.status, "code": self.code, "retryAfterSeconds": self.retry_after_seconds,
                "dropConnection": self.drop_connection, "latencyMs": self.latency_ms, "count": self.count,
                "rate": self.rate, "fired": self.fired}


@dataclass(frozen=True)
class FaultDecision:
    latency_ms: int = 0
    rule: FaultRule | None = None  # the rule whose status or drop applies, if any


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
        latency, answering = 0, None
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
            if answering is None and (rule.status is not None or rule.drop_connection):
                answering = rule
        return FaultDecision(latency, answering)
