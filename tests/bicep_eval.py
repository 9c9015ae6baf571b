"""What infra/ deploys for one set of parameters, worked out offline the way Azure Resource Manager does at
deployment: parameters and variables resolved, conditions and loops decided, modules followed with the values
they are given. What only Azure knows (ids, keys, a resource's read-back properties, `uniqueString`) stays a
`Runtime` value that says where it comes from, e.g. `<id of Microsoft.Network/virtualNetworks vnet-<token>>`, so
that a test can still see that two references name the same resource.

It reads pycep's parse trees, which write a string literal and a symbol reference alike: a plain string that
names a symbol in scope (a loop item, parameter, variable, resource or module) is taken as the reference.
A bare resource or module name is read as one only where Bicep takes one (`scope`, `parent`), else as the
text (a workbook's `category: 'workbook'`). Operators pycep can produce that the templates do not use raise
`Unsupported`, so nothing is misread in silence; pycep also gets operator precedence wrong around `?:`, which is
why the templates parenthesize a ternary's condition. A property set to null is left out, as ARM leaves it out.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

from tests.bicep_types import _unwrapped

BICEP_KEYWORDS = {"dependsOn"}
STORAGE_SUFFIX = "core.windows.net"  # environment().suffixes.storage in Azure's public cloud
_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
_ARITHMETIC = {"add": operator.add, "minus": operator.sub, "multiply": operator.mul, "divide": operator.floordiv,
               "modulo": operator.mod, "greater_than": operator.gt, "greater_than_or_equals": operator.ge,
               "less_than": operator.lt, "less_than_or_equals": operator.le}


class Unsupported(Exception):
    """An expression this evaluator does not model: extend it rather than guess."""


@dataclass(frozen=True)
class Runtime:
    """A value known only at deployment."""
    text: str

    def __str__(self) -> str:
        return f"<{self.text}>"


@dataclass(frozen=True)
class Deployed:
    """One resource the deployment creates or updates."""
    module: str  # the module path from main.bicep, e.g. "privateEndpoint[1]"; "" for main.bicep's own
    file: str
    symbol: str
    type: str
    name: str
    body: dict
    id: Runtime


@dataclass
class Deployment:
    resources: list[Deployed] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, resource_type: str) -> list[Deployed]:
        return [r for r in self.resources if r.type == resource_type]

    def plain(self) -> list[dict]:
        """The resources as JSON-ready data, Runtime values as their text, sorted so that order does not count."""
        return sorted(({"module": r.module, "type": r.type, "name": str(r.name), "body": _plain(r.body)}
                       for r in self.resources), key=lambda r: (r["module"], r["type"], r["name"]))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return str(value) if isinstance(value, Runtime) else value


def deploy(infra: Path, parameters: dict[str, Any], main: str = "main.bicep") -> Deployment:
    """Everything `main` deploys with these parameters (the rest take their defaults)."""
    deployment = Deployment()
    deployment.outputs = _File(infra, main, parameters, deployment, module="").run()
    return deployment


@cache
def _parse(text: str) -> dict:
    """pycep takes about a second a file; a test evaluates the same files in many modes."""
    return BicepParser().parse(text=text)


class _ResourceRef:
    def __init__(self, file: _File, symbol: str) -> None:
        self.file, self.symbol = file, symbol
        self.resource = file.tree["resources"][symbol]

    @property
    def name(self) -> str:
        body = _unwrapped(self.resource["config"])
        own = self.file.value(body["name"])
        parent = body.get("parent")
        return f"{self.file.value(parent).name}/{own}" if parent else own

    @property
    def id(self) -> Runtime:
        return self.file.id_of(self.resource["type"], self.name)

    def get(self, attribute: str) -> Any:
        if attribute == "name":
            return self.name
        if attribute == "id":
            return self.id
        return Runtime(f"{self.id.text.removeprefix('id of ')}.{attribute}")


class _ModuleRef:
    def __init__(self, file: _File, symbol: str) -> None:
        self.file, self.symbol = file, symbol

    def get(self, attribute: str) -> Any:
        if attribute != "outputs":
            raise Unsupported(f"{self.symbol}.{attribute}")
        return self.file.module_outputs(self.symbol)


class _File:
    def __init__(self, infra: Path, path: str, parameters: dict[str, Any], deployment: Deployment,
                 module: str, resource_group: str = "") -> None:
        self.infra, self.path, self.deployment, self.module = infra, path, deployment, module
        self.resource_group = resource_group
        self.tree = _parse((infra / path).read_text())
        declared = self.tree.get("parameters", {})
        unknown = set(parameters) - set(declared)
        if unknown:
            raise Unsupported(f"{path} declares no parameters {sorted(unknown)}")
        self.parameters = dict(parameters)
        self.loop: dict[str, Any] = {}
        self.variables: dict[str, Any] = {}
        self.outputs_of: dict[str, Any] = {}
        for name, declaration in declared.items():
            if name not in self.parameters:
                if declaration["default"] is None:
                    raise Unsupported(f"{path}: parameter {name} has no value and no default")
                self.parameters[name] = self.value(declaration["default"])

    def run(self) -> dict[str, Any]:
        for symbol, resource in self.tree.get("resources", {}).items():
            if not resource["existing"]:
                self._deploy_resource(symbol, resource)
        for symbol in self.tree.get("modules", {}):
            self.module_outputs(symbol)
        return {name: self.value(output["value"]) for name, output in self.tree.get("outputs", {}).items()}

    # --- declarations -------------------------------------------------------------------------------------

    def _each(self, config: dict):
        """The bodies a declaration stands for: one, none (condition false), or one per loop item."""
        loop = config.get("loop_type")
        if loop is None:
            condition = config.get("condition")
            if condition is None:
                yield None, config
            elif self._bool(condition):
                yield None, config["config"]
            return
        detail = loop["detail"]
        if loop["type"] != "array":
            raise Unsupported(f"{loop['type']} loops")
        for index, item in enumerate(self.value(detail["array_name"])):
            self.loop[detail["item_name"]] = item
            try:
                condition = config.get("condition")
                if condition is None or self._bool(condition):
                    yield index, config["config"]
            finally:
                del self.loop[detail["item_name"]]

    def _deploy_resource(self, symbol: str, resource: dict) -> None:
        for _, body in self._each(resource["config"]):
            values = self._object({key: item for key, item in body.items() if key not in BICEP_KEYWORDS})
            if "parent" in body:
                values["name"] = f"{values.pop('parent').name}/{values['name']}"
            if isinstance(values.get("scope"), _ResourceRef):
                values["scope"] = values["scope"].id
            self.deployment.resources.append(Deployed(
                module=self.module, file=self.path, symbol=symbol, type=resource["type"], name=values["name"],
                body=values, id=self.id_of(resource["type"], values["name"])))

    def id_of(self, resource_type: str, name: Any) -> Runtime:
        """A resource's id: its type and name, and the resource group of the file that declares it (a module
        deployed into another group, like an existing Face resource's, gives ids in that group)."""
        where = f" in {self.resource_group}" if self.resource_group else ""
        return Runtime(f"id of {resource_type} {name}{where}")

    def module_outputs(self, symbol: str) -> Any:
        if symbol not in self.outputs_of:
            module = self.tree["modules"][symbol]
            if module["type"] != "local":
                raise Unsupported(f"{symbol}: registry modules")
            path = (Path(self.path).parent / module["detail"]["path"]).as_posix()
            looped = "loop_type" in module["config"]
            outputs = []
            for index, body in self._each(module["config"]):
                parameters = {name: self.value(item) for name, item in body.get("params", {}).items()}
                where = f"{symbol}[{index}]" if looped else symbol
                outputs.append(_File(self.infra, path, parameters, self.deployment,
                                     module=f"{self.module}/{where}".lstrip("/"),
                                     resource_group=self._resource_group(body.get("scope"))).run())
            if not outputs and not looped:
                self.outputs_of[symbol] = _NotDeployed(symbol)
            else:
                self.outputs_of[symbol] = outputs if looped else outputs[0]
        return self.outputs_of[symbol]

    def _resource_group(self, scope: Any) -> str:
        if scope is None:
            return self.resource_group
        found = self.value(scope)
        if isinstance(found, _ResourceRef) and found.resource["type"] == "Microsoft.Resources/resourceGroups":
            return found.name
        if isinstance(found, _InResourceGroup):
            return found.name
        raise Unsupported(f"module scope {found!r}")

    # --- expressions --------------------------------------------------------------------------------------

    def value(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float)):
            return node
        if isinstance(node, str):
            return self._name_or_text(node)
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if isinstance(node, dict):
            if set(node) == {"operator"}:
                return self._operator(node["operator"])
            if set(node) == {"function"}:
                return self._function(node["function"])
            if "loop_type" in node:
                return [self._object(body) if isinstance(body, dict) else self.value(body)
                        for _, body in self._each(node)]
            return self._object(node)
        raise Unsupported(repr(node))

    def _object(self, node: dict) -> dict:
        values = {}
        for key, item in node.items():
            resolved = self.value(item)
            if isinstance(resolved, (_ResourceRef, _ModuleRef)) and key not in ("scope", "parent"):
                resolved = item  # a bare resource or module stands only as a scope or parent: this is the text
            if resolved is not None:
                values[self._key(key)] = resolved
        return values

    def _key(self, key: str) -> str:
        if key.startswith("'") and key.endswith("'"):
            return str(self._text(key[1:-1]))
        return key

    def _name_or_text(self, text: str) -> Any:
        if text in self.loop:
            return self.loop[text]
        if text in self.parameters:
            return self.parameters[text]
        if text in self.tree.get("variables", {}):
            if text not in self.variables:
                self.variables[text] = self.value(self.tree["variables"][text]["value"])
            return self.variables[text]
        if text in self.tree.get("resources", {}):
            return _ResourceRef(self, text)
        if text in self.tree.get("modules", {}):
            return _ModuleRef(self, text)
        return self._text(text) if "${" in text else text

    def _text(self, text: str) -> Any:
        parts = [self._interpolated(match.group(1)) for match in _INTERPOLATION.finditer(text)]
        if not parts:
            return text
        pieces = iter(parts)
        rendered = _INTERPOLATION.sub(lambda _: str(next(pieces)), text)
        return Runtime(rendered) if any(isinstance(part, Runtime) for part in parts) else rendered

    def _interpolated(self, expression: str) -> Any:
        """`${name}`, `${name.field...}` and `${environment().suffixes.storage}`: all the templates use."""
        if expression == "environment().suffixes.storage":
            return STORAGE_SUFFIX
        head, *fields = expression.split(".")
        if not re.fullmatch(r"[A-Za-z_]\w*", head) or not all(re.fullmatch(r"\w+", f) for f in fields):
            raise Unsupported(f"${{{expression}}}")
        found = self._name_or_text(head)
        for name in fields:
            found = _member(found, name)
        return found

    def _operator(self, operator: dict) -> Any:
        kind, operands = operator["type"], operator["operands"]
        if kind == "conditional":
            condition = self.value(operands["condition"])
            if not isinstance(condition, bool):
                raise Unsupported(f"a condition that is not known before deployment: {condition}")
            return self.value(operands["true_value" if condition else "false_value"])
        if kind == "property_accessor":
            return self._access(self.value(operands["operand_1"]), operands["operand_2"])
        if kind == "index_accessor":
            return self.value(operands["operand_1"])[self.value(operands["operand_2"])]
        if kind == "not":
            return not self._bool(operands["bool_value"])
        if kind == "and":
            return self._bool(operands["operand_1"]) and self._bool(operands["operand_2"])
        if kind == "or":
            return self._bool(operands["operand_1"]) or self._bool(operands["operand_2"])
        if kind in ("equals", "not_equals"):
            left, right = self.value(operands["operand_1"]), self.value(operands["operand_2"])
            if isinstance(left, Runtime) or isinstance(right, Runtime):
                raise Unsupported(f"comparing values known only at deployment: {left} and {right}")
            return (left == right) == (kind == "equals")
        if kind in _ARITHMETIC:
            left, right = self.value(operands["operand_1"]), self.value(operands["operand_2"])
            if not (isinstance(left, int) and isinstance(right, int)):
                raise Unsupported(f"{kind} of {left!r} and {right!r}")
            return _ARITHMETIC[kind](left, right)
        raise Unsupported(f"operator {kind}")

    def _access(self, target: Any, member: Any) -> Any:
        """`a.b.c` arrives as a(b(c)): each step reads one member of what the step before found."""
        if isinstance(member, dict) and member.get("operator", {}).get("type") == "property_accessor":
            operands = member["operator"]["operands"]
            return self._access(self._access(target, operands["operand_1"]), operands["operand_2"])
        if isinstance(member, str):
            return _member(target, member)
        raise Unsupported(f"member access {member!r}")

    def _bool(self, node: Any) -> bool:
        found = self.value(node)
        if not isinstance(found, bool):
            raise Unsupported(f"a condition that is not known before deployment: {found}")
        return found

    def _function(self, call: dict) -> Any:
        kind = call["type"]
        arguments = [self.value(argument) for argument in (call.get("parameters") or {}).values()
                     if argument is not None]
        if kind == "empty":
            (item,) = arguments
            if isinstance(item, Runtime):
                raise Unsupported(f"empty() of a value known only at deployment: {item}")
            return len(item) == 0
        if kind == "union" and all(isinstance(argument, dict) for argument in arguments):
            merged: dict = {}
            for argument in arguments:
                merged.update(argument)
            return merged
        if kind == "environment":
            return {"suffixes": {"storage": STORAGE_SUFFIX}}
        if kind == "resource_id":
            resource_type, *names = arguments
            return self.id_of(resource_type, "/".join(map(str, names)))
        if kind == "resource_group" and arguments:
            return _InResourceGroup(arguments[-1])
        found = Runtime(f"{kind}({', '.join(map(str, arguments))})")
        return _member(found, call["property_name"]) if call.get("property_name") else found


@dataclass(frozen=True)
class _InResourceGroup:
    """`resourceGroup(name)` as a module's scope."""
    name: str


class _NotDeployed:
    """A conditional module whose condition was false: reading its outputs is a template error."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def __getitem__(self, name: str) -> Any:
        raise Unsupported(f"{self.symbol} is not deployed in this mode, yet its output {name} is read")


def _member(target: Any, name: str) -> Any:
    if isinstance(target, (_ResourceRef, _ModuleRef)):
        return target.get(name)
    if isinstance(target, (dict, _NotDeployed)):
        return target[name]
    if isinstance(target, Runtime):
        return Runtime(f"{target.text}.{name}")
    raise Unsupported(f".{name} of {target!r}")
