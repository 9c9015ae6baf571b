"""The official Face REST contract, read where it lies: `../shared/face-api-spec/` beside the repository
(development machines and CI). This repository keeps no copy of it. Tests that need it are marked with
`needs_official_contract`; where the folder is absent they do not run, and the run's summary says so plainly.

`swagger(version)` is the part of a version's `Face.json` the emulator serves (Large Face Lists, Large Person
Groups and Person Groups), every `$ref` resolvable inside it (v1.0 points at a shared parameters file, whose refs are
made local). `operations(version)` reads it into the
emulator's own table types, so the two can be compared constraint by constraint.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from localdev.face_emulator.operations import JSON, OperationSpec, Parameter
from localdev.world import REPO_ROOT

OFFICIAL_CONTRACT = REPO_ROOT.parent / "shared" / "face-api-spec"
needs_official_contract = pytest.mark.skipif(
    not (OFFICIAL_CONTRACT / "v1.2" / "Face.json").is_file(),
    reason=f"NOT RUN: the official Face contract is not at {OFFICIAL_CONTRACT} (it is on development machines and "
           "in CI); these tests hold the emulator to it")
SERVED_COLLECTIONS = ("largefacelists", "largepersongroups", "persongroups")
_ENVELOPE_KEYS = ("swagger", "info", "schemes", "x-ms-parameterized-host", "consumes", "produces", "security",
                  "securityDefinitions")
_EXTERNAL_COMMON = "../../../Common/Parameters.json"
# What a constraint check ignores: prose, client-generation hints, examples.
_NOT_CONSTRAINTS = {"description", "title", "example", "x-ms-examples", "x-ms-enum", "x-ms-client-name",
                    "x-ms-client-flatten", "x-ms-parameter-location", "x-nullable", "readOnly", "collectionFormat",
                    "x-ms-summary", "format:int32"}


@cache
def swagger(version: str) -> dict[str, Any]:
    version_dir = OFFICIAL_CONTRACT / version
    spec = json.loads((version_dir / "Face.json").read_text(encoding="utf-8"))
    common_file = version_dir / "Common-Parameters.json"
    common = json.loads(common_file.read_text(encoding="utf-8")) if common_file.exists() else {}
    out: dict[str, Any] = {key: spec[key] for key in _ENVELOPE_KEYS if key in spec}
    for section in ("paths", "x-ms-paths"):
        kept = {p: ops for p, ops in spec.get(section, {}).items() if p.split("/")[1] in SERVED_COLLECTIONS}
        if kept:
            out[section] = kept
    out = _local_refs(out)
    out["parameters"], out["definitions"] = {}, {}
    pending = list(_refs_in(out))
    while pending:
        kind, _, name = pending.pop().removeprefix("#/").partition("/")
        if name not in out[kind]:
            node = _local_refs(spec[kind][name] if name in spec.get(kind, {}) else common[kind][name])
            out[kind][name] = node
            pending.extend(_refs_in(node))
    return out


def operations(version: str) -> tuple[OperationSpec, ...]:
    """The official operations of one version, in the emulator's table types (canonical ids left to the caller)."""
    spec = swagger(version)
    found = []
    for section in ("paths", "x-ms-paths"):
        for raw_path, methods in spec.get(section, {}).items():
            for method, op in methods.items():
                resolved = [_resolve(p, spec) for p in op.get("parameters", ())]
                body = next((p for p in resolved if p["in"] == "body"), None)
                media_type = (op.get("consumes") or spec.get("consumes") or [JSON])[0] if body else None
                found.append(OperationSpec(
                    method=method.upper(), path=raw_path.split("?", 1)[0], operation_id=op["operationId"],
                    canonical_id="", body_media_type=media_type,
                    parameters=tuple(_parameter(p) for p in resolved if p["in"] != "body"),
                    body_schema=_constraints(body["schema"]) if body and media_type == JSON else None))
    return tuple(found)


def training_statuses(version: str) -> tuple[str, ...]:
    definitions = swagger(version)["definitions"]
    if "OperationStatus" in definitions:
        return tuple(definitions["OperationStatus"]["enum"])
    return tuple(definitions["TrainingStatus"]["properties"]["status"]["enum"])


def _parameter(param: dict[str, Any]) -> Parameter:
    items = param.get("items", {})
    return Parameter(
        name=param["name"], location=param["in"], kind=param.get("type", "string"),
        required=bool(param.get("required")), default=param.get("default"), minimum=param.get("minimum"),
        maximum=param.get("maximum"), min_length=param.get("minLength"), max_length=param.get("maxLength"),
        pattern=param.get("pattern"), is_uuid=param.get("format") == "uuid",
        enum=tuple(param["enum"]) if "enum" in param else None, item_kind=items.get("type"),
        # v1.0 writes the array's bound inside `items` (see localdev/face_emulator/operations.py).
        min_items=param.get("minItems", items.get("minItems")), max_items=param.get("maxItems", items.get("maxItems")))


def _constraints(schema: Any) -> Any:
    """A JSON Schema with prose and hints dropped and `allOf` merged: what a body is validated against."""
    if isinstance(schema, list):
        return [_constraints(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    merged = {k: v for k, v in schema.items() if k not in _NOT_CONSTRAINTS and k != "allOf"}
    if merged.get("format") == "int32":
        del merged["format"]
    for part in schema.get("allOf", ()):
        part = _constraints(part)
        merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
        merged["required"] = [*merged.get("required", ()), *part.get("required", ())]
    return {k: _constraints(v) for k, v in merged.items()}


def _resolve(node: Any, spec: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            kind, _, name = node["$ref"].removeprefix("#/").partition("/")
            return _resolve(spec[kind][name], spec)
        return {k: _resolve(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(item, spec) for item in node]
    return node


def _local_refs(node: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_EXTERNAL_COMMON + "#/"):
            return {**node, "$ref": ref.removeprefix(_EXTERNAL_COMMON)}
        return {key: _local_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_local_refs(item) for item in node]
    return node


def _refs_in(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/"):
                yield value
            else:
                yield from _refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs_in(item)
