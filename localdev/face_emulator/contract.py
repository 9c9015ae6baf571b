"""The Face REST contract as data, read from the pinned extract in `localdev/spec/`.

Routes, operation ids, parameter constraints and body schemas all come from the Swagger files, so the emulator
validates exactly what the contract states and nothing it does not. Behaviour the contract leaves open lives in
`service.py`, each choice named there.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import jsonschema

from .errors import FaceError

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec"
API_VERSIONS = ("v1.0", "v1.1-preview.1", "v1.2-preview.1", "v1.2")
CANONICAL_VERSION = "v1.2"
JSON = "application/json"
OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True)
class Operation:
    api_version: str
    method: str
    path: str
    operation_id: str
    canonical_id: str
    body_media_type: str | None
    parameters: tuple[Mapping[str, Any], ...]
    body_schema: Mapping[str, Any] | None

    @cached_property
    def _body_validator(self) -> jsonschema.Draft4Validator | None:
        if self.body_schema is None or self.body_media_type != JSON:
            return None
        return jsonschema.Draft4Validator(self.body_schema)

    def coerce_parameters(self, path_values: Mapping[str, str], query: Mapping[str, str]) -> dict[str, Any]:
        """Validate path and query values against the spec; return them typed, with the spec's defaults."""
        values: dict[str, Any] = {}
        for param in self.parameters:
            location = param["in"]
            if location not in ("path", "query"):
                continue
            name = param["name"]
            raw = (path_values if location == "path" else query).get(name)
            if raw is None:
                if param.get("required"):
                    raise FaceError.bad_argument(f"'{name}' is required.")
                if "default" in param:
                    values[name] = param["default"]
                continue
            values[name] = _coerce(param, raw)
        return values

    def validate_body(self, body: Any) -> None:
        validator = self._body_validator
        if validator is None:
            return
        error = jsonschema.exceptions.best_match(validator.iter_errors(body))
        if error is not None:
            raise FaceError.bad_argument(_describe(error))


def _coerce(param: Mapping[str, Any], raw: str) -> Any:
    name, kind = param["name"], param.get("type", "string")
    if kind == "integer":
        try:
            value: Any = int(raw)
        except ValueError:
            raise FaceError.bad_argument(f"'{name}' is invalid: not an integer.") from None
        if ("minimum" in param and value < param["minimum"]) or ("maximum" in param and value > param["maximum"]):
            raise FaceError.bad_argument(
                f"'{name}' is invalid: must be between {param.get('minimum')} and {param.get('maximum')}."
            )
        return value
    if kind == "boolean":
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise FaceError.bad_argument(f"'{name}' is invalid: must be true or false.")
        return lowered == "true"
    if kind == "array":
        items = raw.split(",") if raw else []
        item_rules = param.get("items", {})
        count = len(items)
        # v1.0 puts targetFace's 4-value bound inside `items`, where JSON Schema would bind nothing; v1.1 and later
        # put it on the parameter. It is one service, whose every version reads "left,top,width,height": the
        # bound holds wherever a version wrote it.
        min_items = param.get("minItems", item_rules.get("minItems"))
        max_items = param.get("maxItems", item_rules.get("maxItems"))
        if (min_items is not None and count < min_items) or (max_items is not None and count > max_items):
            raise FaceError.bad_argument(f"'{name}' is invalid: expected {min_items} comma-separated values.")
        return [_coerce({"name": name, **item_rules}, item.strip()) for item in items]
    if "maxLength" in param and len(raw) > param["maxLength"]:
        raise FaceError.bad_argument(f"'{name}' is too long: at most {param['maxLength']} characters.")
    if "minLength" in param and len(raw) < param["minLength"]:
        raise FaceError.bad_argument(f"'{name}' is empty.")
    if "pattern" in param and not _matches(param["pattern"], raw):
        raise FaceError.bad_argument(f"'{name}' is invalid: it must match {param['pattern']}.")
    if param.get("format") == "uuid" and not _is_uuid(raw):
        raise FaceError.bad_argument(f"'{name}' is invalid: it must be a UUID.")
    if "enum" in param and raw not in param["enum"]:
        raise FaceError.bad_argument(f"'{name}' is invalid: supported values are {', '.join(param['enum'])}.")
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
    """Every Large Face List operation of every API version in the extract."""

    def __init__(self, spec_dir: Path = SPEC_DIR) -> None:
        self.specs = {v: json.loads((spec_dir / f"{v}.json").read_text(encoding="utf-8")) for v in API_VERSIONS}
        self.operations = {v: _operations(v, spec) for v, spec in self.specs.items()}
        canonical = {(op.method, op.path, op.body_media_type): op.operation_id
                     for op in self.operations[CANONICAL_VERSION]}
        for version, ops in self.operations.items():
            self.operations[version] = [
                replace(op, canonical_id=canonical[(op.method, op.path, op.body_media_type)]) for op in ops
            ]
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
        definitions = self.specs[api_version]["definitions"]
        if "OperationStatus" in definitions:
            return tuple(definitions["OperationStatus"]["enum"])
        return tuple(definitions["TrainingStatus"]["properties"]["status"]["enum"])


def _operations(version: str, spec: dict[str, Any]) -> list[Operation]:
    ops = []
    for section in ("paths", "x-ms-paths"):
        for raw_path, methods in spec.get(section, {}).items():
            path = raw_path.split("?", 1)[0]
            for method, op in methods.items():
                params = tuple(_resolve(p, spec) for p in op.get("parameters", ()))
                body = next((p for p in params if p["in"] == "body"), None)
                consumes = op.get("consumes") or spec.get("consumes") or [JSON]
                ops.append(Operation(
                    api_version=version,
                    method=method.upper(),
                    path=path,
                    operation_id=op["operationId"],
                    canonical_id=op["operationId"],
                    body_media_type=consumes[0] if body else None,
                    parameters=params,
                    body_schema=body["schema"] if body else None,
                ))
    return ops


def _resolve(node: Any, spec: dict[str, Any]) -> Any:
    """Inline every local $ref: the extract has no cycles, and a plain tree suits jsonschema and reading alike."""
    if isinstance(node, dict):
        if "$ref" in node:
            kind, _, name = node["$ref"].removeprefix("#/").partition("/")
            return _resolve(spec[kind][name], spec)
        return {k: _resolve(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(item, spec) for item in node]
    return node
