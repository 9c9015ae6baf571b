"""The one place that calls Microsoft's Python Functions runtime (`azure-functions-runtime`), as the .NET host's proxy
worker does on Python 3.13: worker init (which indexes the app), function metadata, function load, invocation.

The runtime's API is not documented for outside callers and changed in 2025, so the runtime is pinned exactly
(`requirements.txt`, which also fixes the version Azure runs) and nothing else in this repository touches it. The
host-worker contract's message classes (`FunctionRpc.proto`) come compiled from a registry wheel,
`azure-functions-runtime-v1`, downloaded by `make setup` and checked by hash here: never a copy in this repository.

    python -m localdev.host.worker_runtime [--app-dir .]   prints the metadata the runtime reports, as JSON
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib
import json
import os
import sys
import types
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localdev.world import REPO_ROOT

PROTOS_WHEEL = REPO_ROOT / ".localdev" / "wheels" / "azure_functions_runtime_v1-1.2.0-py3-none-any.whl"
PROTOS_WHEEL_SHA256 = "6ae0abb681e28c61a404b52e1c4481f203bb113e5027fbe908989ea9585a02a0"
# The wheel's own package name is `tests` (it would shadow ours), and its `__init__` imports gRPC stubs nobody
# calls here: its modules are imported under this name, without that `__init__`.
_PROTOS_PACKAGE = "localdev_function_rpc"
HOST_VERSION = "4.1037.0"  # the Functions host whose requests are imitated (../shared/notes/functions-runtime.md)


class WorkerInitFailed(RuntimeError):
    """The runtime could not index the app (an import error, a bad setting): the host takes no message then."""


@dataclass(frozen=True)
class WorkerRequest:
    """What the proxy worker hands the runtime: the message's name, the message, and the host's properties."""

    name: str
    request: Any
    properties: dict[str, Any]


@dataclass(frozen=True)
class FunctionMetadata:
    """One function as the host learns it: its id, name and bindings (each the JSON the real host receives)."""

    function_id: str
    name: str
    bindings: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "bindings": self.bindings}


def load_protos(wheel: Path = PROTOS_WHEEL) -> types.SimpleNamespace:
    """FunctionRpc's message classes from the registry wheel, after checking it is the pinned one."""
    if not wheel.exists():
        raise FileNotFoundError(f"{wheel} is missing: `make setup` downloads it (localdev/requirements-protos.txt)")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != PROTOS_WHEEL_SHA256:
        raise RuntimeError(f"{wheel.name} has sha256 {digest}, not the pinned {PROTOS_WHEEL_SHA256}")
    if _PROTOS_PACKAGE not in sys.modules:
        package = types.ModuleType(_PROTOS_PACKAGE)
        package.__path__ = [f"{wheel}/tests/protos"]  # read from inside the wheel by zipimport
        sys.modules[_PROTOS_PACKAGE] = package
    modules = [importlib.import_module(f"{_PROTOS_PACKAGE}.{name}")
               for name in ("FunctionRpc_pb2", "shared.NullableTypes_pb2")]
    return types.SimpleNamespace(**{name: getattr(module, name) for module in modules
                                    for name in dir(module) if not name.startswith("_")})


class WorkerRuntime:
    """The runtime for one app in this process (it keeps global state: one app per process)."""

    def __init__(self, app_dir: Path, protos: types.SimpleNamespace | None = None) -> None:
        self.app_dir = app_dir.resolve()
        self.protos = protos or load_protos()
        self._loop = asyncio.new_event_loop()
        from azure_functions_runtime import handle_event  # imported here: it configures logging when imported
        from azure_functions_runtime.utils.threadpool import start_threadpool_executor

        self._events = handle_event
        start_threadpool_executor()  # the proxy worker's first step: sync functions run on its threads

    def start(self) -> list[FunctionMetadata]:
        """Init (the runtime imports the app), metadata, and a load for each function, as the host sends them."""
        protos = self.protos
        # The runtime imports the app by module name, as the worker started in the app's folder does.
        sys.path.insert(0, str(self.app_dir))
        os.chdir(self.app_dir)
        init = self._call("worker_init_request", protos.StreamingMessage(worker_init_request=protos.WorkerInitRequest(
            host_version=HOST_VERSION, function_app_directory=str(self.app_dir),
            worker_directory=str(self.app_dir), capabilities={"MultiStream": "10"})))
        if init.result.status != protos.StatusResult.Success:
            raise WorkerInitFailed(f"the app failed to load, so no function runs: {init.result.exception.message}")
        response = self._call("functions_metadata_request", protos.StreamingMessage(
            functions_metadata_request=protos.FunctionsMetadataRequest(function_app_directory=str(self.app_dir))))
        functions = []
        for metadata in response.function_metadata_results:
            bindings = {binding["name"]: binding for binding in map(json.loads, metadata.raw_bindings)}
            self._call("function_load_request", protos.StreamingMessage(function_load_request=protos.FunctionLoadRequest(
                function_id=metadata.function_id, metadata=metadata)))
            functions.append(FunctionMetadata(metadata.function_id, metadata.name, bindings))
        return functions

    def invoke(self, function_id: str, inputs: dict[str, Any], trigger_metadata: dict[str, Any]) -> Any:
        """One invocation: `inputs` maps binding names to `TypedData`; the `InvocationResponse` says how it ended."""
        protos = self.protos
        request = protos.InvocationRequest(
            invocation_id=str(uuid.uuid4()), function_id=function_id,
            input_data=[protos.ParameterBinding(name=name, data=data) for name, data in inputs.items()],
            trigger_metadata=trigger_metadata)
        return self._call("invocation_request", protos.StreamingMessage(invocation_request=request))

    def _call(self, name: str, message: Any) -> Any:
        handler = getattr(self._events, name)
        return self._loop.run_until_complete(handler(WorkerRequest(name, message, {"protos": self.protos,
                                                                                   "host": "127.0.0.1"})))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-dir", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    try:
        functions = WorkerRuntime(args.app_dir).start()
    except WorkerInitFailed as error:
        print(f"worker runtime: {error}", file=sys.stderr)
        return 2
    print(json.dumps([f.to_json() for f in functions], indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
