"""The Face REST contract as the emulator enforces it, from its own table (`operations.py`).

Routes, operation ids, parameter constraints and body schemas all come from that table, which a test holds to the
official Swagger files, so the emulator validates exactly what the contract states and nothing it does not.
Behaviour the contract leaves open lives in `service.py`, each choice named there.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

import jsonschema

from .errors import FaceError
from .operations import API_VERSIONS, CANONICAL_VERSION, JSON, OperationSpec, Parameter, operations, training_statuses


@dataclass(frozen=True)
class Operation:
    api_version: str
    spec: OperationSpec

    @property
    def method(self) -> str:
        return self.spec.method

    @property
    def path(self) -> str:
        return self.spec.path

    @property
    def canonical_id(self) -> str:
        return self.spec.canonical_id

    @property
    def body_media_type(self) -> str | None:
        return self.spec.body_media_type

    @cached_property
    def _body_validator(self) -> jsonschema.Draft4Validator | None:
        if self.spec.body_schema is None:
            return None
        return jsonschema.Draft4Validator(self.spec.body_schema)

    def coerce_parameters(self, path_values: Mapping[str, str], query: Mapping[str, str]) -> dict[str, Any]:
        """Validate path and query values against the contract; return them typed, with its defaults."""
        values: dict[str, Any] = {}
        for param in self.spec.parameters:
            raw = (path_values if param.location == "path" else query).get(param.name)
            if raw is None:
                if param.required:
                    raise FaceError.bad_argument(f"'{param.name}' is required.")
                if param.default is not None:
                    values[param.name] = param.default
                continue
            values[param.name] = _coerce(param, raw)
        return values

    def validate_body(self, body: Any) -> None:
        validator = self._body_validator
        if validator is None:
            return
        error = jsonschema.exceptions.best_match(validator.iter_errors(body))
        if error is not None:
            raise FaceError.bad_argument(_describe(error))


def _coerce(param: Parameter, raw: str, kind: str | None = None) -> Any:
    name, kind = param.name, kind or param.kind
    if kind == "integer":
        try:
            value: Any = int(raw)
        except ValueError:
            raise FaceError.bad_argument(f"'{name}' is invalid: not an integer.") from None
        if (param.minimum is not None and value < param.minimum) or (param.maximum is not None
                                                                       and value > param.maximum):
            raise FaceError.bad_argument(f"'{name}' is invalid: must be between {param.minimum} and {param.maximum}.")
        return value
    if kind == "boolean":
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise FaceError.bad_argument(f"'{name}' is invalid: must be true or false.")
        return lowered == "true"
    if kind == "array":
        items = raw.split(",") if raw else []
        count = len(items)
        if (param.min_items is not None and count < param.min_items) or (param.max_items is not None
                                                                         and count > param.max_items):
            raise FaceError.bad_argument(f"'{name}' is invalid: expected {param.min_items} comma-separated values.")
        return [_coerce(Parameter(name, param.location), item.strip(), param.item_kind) for item in items]
    if param.max_length is not None and len(raw) > param.max_length:
        raise FaceError.bad_argument(f"'{name}' is too long: at most {param.max_length} characters.")
    if param.min_length is not None and len(raw) < param.min_length:
        raise FaceError.bad_argument(f"'{name}' is empty.")
    if param.pattern is not None and not _matches(param.pattern, raw):
        raise FaceError.bad_argument(f"'{name}' is invalid: it must match {param.pattern}.")
    if param.is_uuid and not _is_uuid(raw):
        raise FaceError.bad_argument(f"'{name}' is invalid: it must be a UUID.")
    if param.enum is not None and raw not in param.enum:
        raise FaceError.bad_argument(f"'{name}' is invalid: supported values are {', '.join(param.enum)}.")
    return raw


def _matches(pattern: str, text: str) -> bool:
    """ECMA 262 semantics, as Swagger patterns have: `$` is the end of the input. Python's `$` also matches
    before a trailing newline, which would let "abc\n" pass `^[a-z0-9-_]+$`."""
    match = re.search(pattern, text)
    return match is not None and (not pattern.endswith("$") or match.end() == len(text))


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _describe(error: jsonschema.ValidationError) -> str:
    """Say which field broke which rule, without echoing the (possibly 16 KB) value back."""
    field = ".".join(str(p) for p in error.absolute_path) or "body"
    rule, limit = error.validator, error.validator_value
    if rule == "required":
        missing = next((name for name in limit if name not in error.instance), limit[0])
        return f"'{missing}' is required."
    if rule == "maxLength":
        return f"'{field}' is too long: at most {limit} characters."
    if rule == "minLength":
        return f"'{field}' is empty."
    if rule == "enum":
        return f"'{field}' is invalid: supported values are {', '.join(map(str, limit))}."
    if rule == "type":
        return f"'{field}' is invalid: expected {limit}."
    return f"'{field}' is invalid."


class Contract:
    """Every Large Face List operation of every API version."""

    def __init__(self) -> None:
        self.operations = {v: [Operation(v, spec) for spec in operations(v)] for v in API_VERSIONS}
        self._by_route: dict[tuple[str, str, str], list[Operation]] = defaultdict(list)
        for version, ops in self.operations.items():
            for op in ops:
                self._by_route[(version, op.method, op.path)].append(op)

    @property
    def paths(self) -> list[str]:
        """Path templates shared by every version (the contract does not vary them)."""
        return sorted({op.path for op in self.operations[CANONICAL_VERSION]})

    def find(self, api_version: str, method: str, path: str, media_type: str | None) -> Operation | None:
        candidates = self._by_route.get((api_version, method, path), ())
        if len(candidates) > 1:
            # Add-face has two overloads on one URL, told apart only by Content-Type.
            chosen = [op for op in candidates if op.body_media_type == media_type]
            return chosen[0] if chosen else next(op for op in candidates if op.body_media_type == JSON)
        return candidates[0] if candidates else None

    def methods(self, api_version: str, path: str) -> list[str]:
        return sorted({op.method for op in self.operations.get(api_version, ()) if op.path == path})

    def status_values(self, api_version: str) -> tuple[str, ...]:
        return training_statuses(api_version)
