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
import concurrent.futures
import hashlib
import importlib
import json
import os
import sys
import threading
import types
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


# What the runtime must declare at init for the requests this dev host sends: HTTP bodies as bytes, no raw body,
# and no trigger metadata for HTTP (the request carries it all).
REQUIRED_CAPABILITIES = frozenset({"RawHttpBodyBytes", "RpcHttpBodyOnly", "RpcHttpTriggerMetadataRemoved"})


class WorkerInitFailed(RuntimeError):
    """The runtime could not index the app (an import error, a bad setting): the host takes no message then."""


@dataclass(frozen=True)
class WorkerRequest:
    """What the proxy worker hands the runtime: the message's name, the message, and the host's properties."""

    name: str
    request: Any
    properties: dict[str, Any]


@dataclass(frozen=True)
class Invocation:
    """How an invocation ended, as the runtime's `InvocationResponse` says: the error is the exception's message."""

    succeeded: bool
    error: str | None
    return_value: Any  # the `$return` binding's TypedData, if the function has one


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
    """The runtime for one app in this process (it keeps global state: one app per process).

    The runtime's handlers are coroutines that run sync functions on its own thread pool, as under the proxy
    worker; they run here on one event loop of their own, so that the host's threads can invoke concurrently."""

    def __init__(self, app_dir: Path, protos: types.SimpleNamespace | None = None) -> None:
        self.app_dir = app_dir.resolve()
        self.protos = protos or load_protos()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="worker-runtime", daemon=True).start()
        from azure_functions_runtime import handle_event  # imported here: it configures logging when imported
        from azure_functions_runtime.utils.threadpool import start_threadpool_executor

        self._events = handle_event
        # The proxy worker's first step. Its size comes from PYTHON_THREADPOOL_THREAD_COUNT, read now, so the
        # app's settings must already be in the environment.
        start_threadpool_executor()

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
        missing = REQUIRED_CAPABILITIES - {name for name, value in init.capabilities.items() if value == "true"}
        if missing:
            raise WorkerInitFailed(f"this runtime does not declare {', '.join(sorted(missing))}, which the dev "
                                   "host's HTTP requests are shaped for (see localdev/host/http.py)")
        response = self._call("functions_metadata_request", protos.StreamingMessage(
            functions_metadata_request=protos.FunctionsMetadataRequest(function_app_directory=str(self.app_dir))))
        if response.result.status != protos.StatusResult.Success:
            raise WorkerInitFailed(f"the app's functions could not be indexed: {response.result.exception.message}")
        functions = []
        for metadata in response.function_metadata_results:
            bindings = {binding["name"]: binding for binding in map(json.loads, metadata.raw_bindings)}
            load = self._call("function_load_request", protos.StreamingMessage(
                function_load_request=protos.FunctionLoadRequest(function_id=metadata.function_id, metadata=metadata)))
            if load.result.status != protos.StatusResult.Success:
                raise WorkerInitFailed(f"function {metadata.name} could not be loaded: "
                                       f"{load.result.exception.message}")
            functions.append(FunctionMetadata(metadata.function_id, metadata.name, bindings))
        return functions

    def invoke(self, invocation_id: str, function_id: str, inputs: dict[str, Any], trigger_metadata: dict[str, Any],
               timeout_seconds: float | None = None) -> Invocation:
        """One invocation: `inputs` maps binding names to `TypedData`. Raises `TimeoutError` once the invocation
        has run `timeout_seconds` (host.json `functionTimeout`); the function itself may still be running then,
        as it is in a worker the real host has yet to restart."""
        protos = self.protos
        request = protos.InvocationRequest(
            invocation_id=invocation_id, function_id=function_id,
            input_data=[protos.ParameterBinding(name=name, data=data) for name, data in inputs.items()],
            trigger_metadata=trigger_metadata)
        response = self._call("invocation_request", protos.StreamingMessage(invocation_request=request),
                              timeout_seconds)
        succeeded = response.result.status == protos.StatusResult.Success
        return Invocation(succeeded, None if succeeded else response.result.exception.message,
                          response.return_value if response.HasField("return_value") else None)

    def _call(self, name: str, message: Any, timeout_seconds: float | None = None) -> Any:
        handler = getattr(self._events, name)
        request = WorkerRequest(name, message, {"protos": self.protos, "host": "127.0.0.1"})
        future = asyncio.run_coroutine_threadsafe(handler(request), self._loop)
        try:
            return future.result(timeout_seconds)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"{name} ran longer than {timeout_seconds:g} s") from None


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
