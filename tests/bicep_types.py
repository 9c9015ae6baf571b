"""A type check of Bicep resource declarations against Azure's resource type index, the way the Bicep compiler
does it, for a machine without the compiler: `../shared/azure-resource-types/types.json` is the index Bicep loads
(bicep-types-az), cut to the types and API versions infra/ uses (see its SOURCES.md).

It reads pycep's parse trees. pycep writes a string literal and a symbol reference alike (`'web'` and `location`
are both plain strings), so a string that names a declared symbol is taken as a reference: a `var` holding a
literal is checked as that literal (and a loop over such a `var` once per element, `item.field` read from it),
anything else is an expression of unknown type, as are function calls, operators and interpolated strings. Everything literal is checked: property names (an unknown one is an error
unless the type allows additional properties), read-only properties set, required properties missing, string
literal and union values, lengths, patterns and integer bounds, array items, discriminated objects; a null is
taken for a property that is not required, as Bicep takes it (the property is left out).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REQUIRED, READ_ONLY = 1, 2
# Keys of a resource body that are Bicep's own, not the resource type's.
BICEP_KEYWORDS = {"scope", "parent", "dependsOn"}
_UNKNOWN = object()  # a value whose type only the compiler could know


@dataclass(frozen=True)
class Finding:
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


class TypeIndex:
    def __init__(self, path: Path) -> None:
        index = json.loads(path.read_text())
        self.resources: dict[str, int] = index["resources"]
        self.api_versions: dict[str, list[str]] = {k.lower(): v for k, v in index["apiVersions"].items()}
        self.types: list[dict] = index["types"]

    def type_at(self, reference: dict) -> dict:
        return self.types[int(reference["$ref"].rsplit("/", 1)[1])]


def check_file(index: TypeIndex, tree: dict, file_name: str) -> list[Finding]:
    """Every finding in one parsed Bicep file's resource declarations."""
    symbols = _symbols(tree)
    findings = []
    for symbol, resource in tree.get("resources", {}).items():
        where = f"{file_name}: {symbol}"
        key = f"{resource['type']}@{resource['api_version']}"
        if key not in index.resources:
            known = index.api_versions.get(resource["type"].lower())
            if known is None:
                problem = f"no resource type {resource['type']} in the type index"
            elif resource["api_version"] in known:
                problem = f"{key} exists, but is not in the type index's extract: add it there (SOURCES.md)"
            else:
                problem = f"{resource['type']} has no API version {resource['api_version']} (it has {', '.join(known)})"
            findings.append(Finding(where, problem))
            continue
        if resource.get("existing"):
            continue  # only its name is declared here
        body = index.type_at(index.type_at({"$ref": f"#/{index.resources[key]}"})["body"])
        given = {k: v for k, v in _unwrapped(resource["config"]).items() if k not in BICEP_KEYWORDS}
        for suffix, bound in _iterations(resource["config"], symbols):
            findings += _check(index, body, given, where + suffix, bound)
    return findings


def _iterations(config: dict, symbols: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A looped resource over a `var` of literals is checked once per element, its item bound to the element."""
    loop = config.get("loop_type")
    array = _literal(loop["detail"]["array_name"], symbols) if loop else _UNKNOWN
    if not isinstance(array, list):
        return [("", symbols)]
    return [(f"[{number}]", {**symbols, loop["detail"]["item_name"]: element}) for number, element in enumerate(array)]


def _unwrapped(config: dict) -> dict:
    """A conditional (`if`) or looped (`for`) resource's body."""
    while "config" in config and ("condition" in config or "loop_type" in config):
        config = config["config"]
    return config


def _symbols(tree: dict) -> dict[str, Any]:
    """Each declared name, with a `var`'s literal value when it has one."""
    found: dict[str, Any] = {}
    for section in ("parameters", "resources", "modules", "outputs"):
        found.update({name: _UNKNOWN for name in tree.get(section, {})})
    for name, variable in tree.get("variables", {}).items():
        found[name] = variable.get("value", _UNKNOWN)
    for resource in tree.get("resources", {}).values():
        loop = resource["config"].get("loop_type")
        if loop:
            found[loop["detail"]["item_name"]] = _UNKNOWN
    return found


def _literal(value: Any, symbols: dict[str, Any], seen: frozenset = frozenset()) -> Any:
    """The value as a literal, or _UNKNOWN for an expression."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("function", "operator"):
        operator = value.get("operator", {})
        if operator.get("type") == "property_accessor":  # `rule.query`, where `rule` is a literal object
            base = _literal(operator["operands"]["operand_1"], symbols, seen)
            member = operator["operands"]["operand_2"]
            if isinstance(base, dict) and member in base:
                return _literal(base[member], symbols, seen)
        return _UNKNOWN
    if isinstance(value, str):
        if "${" in value:
            return _UNKNOWN
        if value in symbols and value not in seen:
            target = symbols[value]
            return _UNKNOWN if target is _UNKNOWN else _literal(target, symbols, seen | {value})
    return value


def _check(index: TypeIndex, type_: dict, value: Any, where: str, symbols: dict[str, Any]) -> list[Finding]:
    value = _literal(value, symbols)
    if value is _UNKNOWN:
        return []
    kind = type_["$type"]
    if kind == "AnyType":
        return []
    if kind == "StringLiteralType":
        return [] if value == type_["value"] else [Finding(where, f"{value!r} is not {type_['value']!r}")]
    if kind == "UnionType":
        options = [index.type_at(element) for element in type_["elements"]]
        if any(not _check(index, option, value, where, symbols) for option in options):
            return []
        allowed = [o["value"] for o in options if o["$type"] == "StringLiteralType"]
        return [Finding(where, f"{value!r} is none of {allowed or [o['$type'] for o in options]}")]
    if kind == "StringType":
        return _check_string(type_, value, where)
    if kind == "IntegerType":
        return _check_integer(type_, value, where)
    if kind == "BooleanType":
        return [] if isinstance(value, bool) else [Finding(where, f"{value!r} is not a boolean")]
    if kind == "ArrayType":
        if not isinstance(value, list):
            return [Finding(where, f"{value!r} is not an array")]
        findings = _check_length(type_, value, where)
        item_type = index.type_at(type_["itemType"])
        for number, item in enumerate(value):
            findings += _check(index, item_type, item, f"{where}[{number}]", symbols)
        return findings
    if kind in ("ObjectType", "DiscriminatedObjectType"):
        if not isinstance(value, dict):
            return [Finding(where, f"{value!r} is not an object")]
        return _check_object(index, type_, value, where, symbols)
    return [Finding(where, f"no check for a {kind}")]


def _check_object(index: TypeIndex, type_: dict, value: dict, where: str, symbols: dict[str, Any]
                  ) -> list[Finding]:
    given = {key.strip("'"): item for key, item in value.items()}
    properties = dict(type_.get("properties") or type_.get("baseProperties") or {})
    open_ended = "additionalProperties" in type_
    if type_["$type"] == "DiscriminatedObjectType":
        discriminator = type_["discriminator"]
        chosen = _literal(given.get(discriminator), symbols)
        if chosen is _UNKNOWN:
            open_ended = True  # which variant it is, only the compiler could tell
        elif chosen not in type_["elements"]:
            return [Finding(f"{where}.{discriminator}", f"{chosen!r} is none of {sorted(type_['elements'])}")]
        else:
            properties.update(index.type_at(type_["elements"][chosen])["properties"])
    findings = []
    for key, item in given.items():
        declared = properties.get(key)
        if declared is None:
            if "additionalProperties" in type_:
                findings += _check(index, index.type_at(type_["additionalProperties"]), item, f"{where}.{key}",
                                   symbols)
            elif not open_ended:
                findings.append(Finding(f"{where}.{key}", "no such property"))
            continue
        if declared["flags"] & READ_ONLY and not declared["flags"] & REQUIRED:
            findings.append(Finding(f"{where}.{key}", "read-only"))
            continue
        if _literal(item, symbols) is None:  # Bicep takes null for a property that is not required, and leaves it out
            if declared["flags"] & REQUIRED:
                findings.append(Finding(f"{where}.{key}", "required, and null"))
            continue
        findings += _check(index, index.type_at(declared["type"]), item, f"{where}.{key}", symbols)
    for key, declared in properties.items():
        if declared["flags"] & REQUIRED and not declared["flags"] & READ_ONLY and key not in given:
            findings.append(Finding(f"{where}.{key}", "required, and missing"))
    return findings


def _check_string(type_: dict, value: Any, where: str) -> list[Finding]:
    if not isinstance(value, str):
        return [Finding(where, f"{value!r} is not a string")]
    findings = _check_length(type_, value, where)
    if type_.get("pattern") and not re.search(type_["pattern"], value):
        findings.append(Finding(where, f"{value!r} does not match {type_['pattern']}"))
    return findings


def _check_integer(type_: dict, value: Any, where: str) -> list[Finding]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [Finding(where, f"{value!r} is not an integer")]
    if value < type_.get("minValue", value) or value > type_.get("maxValue", value):
        return [Finding(where, f"{value} is outside {type_.get('minValue')}..{type_.get('maxValue')}")]
    return []


def _check_length(type_: dict, value: str | list, where: str) -> list[Finding]:
    if len(value) < type_.get("minLength", 0) or len(value) > type_.get("maxLength", len(value)):
        return [Finding(where, f"length {len(value)} is outside {type_.get('minLength', 0)}..{type_.get('maxLength')}")]
    return []
