"""python -m localdev.host [--app-dir .] [--port 7071] [--settings local.settings.json] [--host-json host.json]
                          [--invocations FILE]

Runs the app's queue, timer and HTTP functions until SIGINT or SIGTERM, through Microsoft's worker runtime (which
imports `function_app.py` from the app's folder, as in Azure). All state lives in storage, so a SIGKILL
at any moment loses nothing: unfinished messages come back when their lease runs out.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from .config import AppConfig, HostConfigError, load_app, load_settings
from .http import build_app
from .queues import LEASE, QueueListener
from .timers import TimerRunner

log = logging.getLogger("localdev.host")
DEFAULT_HOST_ID = "localdev-host"
SHUTDOWN_GRACE_SECONDS = 30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.host", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app-dir", type=Path, default=Path.cwd(),
                        help="the folder holding function_app.py (default: here)")
    parser.add_argument("--settings", type=Path, default=Path("local.settings.json"))
    parser.add_argument("--host-json", type=Path, default=Path("host.json"))
    parser.add_argument("--port", type=int, default=7071, help="HTTP port (the Core Tools default)")
    parser.add_argument("--lease-seconds", type=float, default=LEASE.total_seconds(),
                        help="queue message lease, renewed every half lease (default 600, as the host)")
    parser.add_argument("--invocations", type=Path,
                        help="also append each invocation's record (as logged) to this file, one JSON per line")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stdout)
    logging.getLogger("azure").setLevel(logging.WARNING)

    settings = load_settings(args.settings)
    try:
        config = load_app(args.app_dir, settings, args.app_dir / args.host_json, args.invocations)
    except HostConfigError as error:
        print(f"dev host: {error}", file=sys.stderr)
        return 2
    configured_key = settings.get("LOCALDEV_FUNCTION_KEY")
    function_key = configured_key or secrets.token_urlsafe(24)
    # A generated key is printed, or nobody could call; a configured one is a secret its owner already has.
    shown_key = "from LOCALDEV_FUNCTION_KEY" if configured_key else function_key
    host_id = settings.get("AzureFunctionsWebHost__hostid", DEFAULT_HOST_ID)

    stop = threading.Event()
    workers = [QueueListener(q, config.invoker, config.queue_options, config.connection_string(q.connection), stop,
                             lease=timedelta(seconds=args.lease_seconds)) for q in config.queues]
    workers += [TimerRunner(t, config.invoker, config.connection_string("AzureWebJobsStorage"), host_id,
                            config.singleton, stop) for t in config.timers]
    threads = [threading.Thread(target=w.run, name=type(w).__name__, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    ready = (f"dev host: {len(config.queues)} queue, {len(config.timers)} timer, {len(config.http)} HTTP function(s)"
             + (f"; HTTP on http://127.0.0.1:{args.port}/api, function key {shown_key}" if config.http else ""))
    asyncio.run(_serve(config, function_key, args.port, stop, ready))
    for thread in threads:
        thread.join(SHUTDOWN_GRACE_SECONDS)
    print("dev host: stopped", flush=True)
    return 0


async def _serve(config: AppConfig, function_key: str, port: int, stop: threading.Event, ready: str) -> None:
    """Serve HTTP until a signal; `ready` is printed once the port listens, since callers wait for it to call."""
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: (stop.set(), stopped.set()))
    runner = None
    if config.http:
        runner = web.AppRunner(build_app(config.http, config.invoker, function_key), access_log=None,
                               handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    print(ready, flush=True)
    await stopped.wait()
    if runner:
        await runner.cleanup()


if __name__ == "__main__":
    sys.exit(main())
