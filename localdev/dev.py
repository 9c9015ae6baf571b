"""`make dev`: bring the local world up on fixed ports, with our function app on the dev host, and keep it
running until Ctrl-C or SIGTERM.

Once every service is healthy, the settings a client needs are printed and written to `.localdev/settings.env`
as KEY='VALUE' lines (`set -a; . .localdev/settings.env; set +a` loads them into bash or sh). The file is
removed again on shutdown, so a stale file never points at a world that is gone.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

from azure.storage.queue import QueueClient

from facetrain.sources import DEV_PID, env_file_text
from orchestrator.storage_clients import ensure_exists
from orchestrator.settings import DEFAULTS

from .world import REPO_ROOT, LocalWorld, ManagedProcess, Ports, http_ready

STATE_DIR = REPO_ROOT / ".localdev"
# Beside the host's log in the state folder: one JSON line per invocation (function, times, outcome).
INVOCATIONS_FILE = "invocations.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.dev", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="divide Face training durations by this (default 1: as in Azure)")
    parser.add_argument("--free-ports", action="store_true", help="pick free ports instead of the fixed ones")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR,
                        help="certificates, keys, logs and settings.env (default .localdev)")
    parser.add_argument("--no-host", action="store_true", help="the world only, without the dev host and the app")
    parser.add_argument("--host-port", type=int, default=7071, help="the dev host's HTTP port (default 7071)")
    args = parser.parse_args(argv)
    settings_file = args.state_dir / "settings.env"

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    world = LocalWorld(args.state_dir, ports=Ports.free() if args.free_ports else Ports.default(),
                       time_scale=args.time_scale, in_memory_storage=True)
    with world.start():
        settings = world.settings()
        if not args.no_host:
            settings.update(start_app(world, args.state_dir, args.host_port))
        # With this process's id, so that the CLI can tell a file a killed `make dev` left from a running one.
        settings_file.write_text(env_file_text({**settings, DEV_PID: str(os.getpid())}))
        print("Local Azure world is up:")
        for key, value in settings.items():
            print(f"  {key}={value}")
        print(f"Settings written to {settings_file}. Ctrl-C stops everything.", flush=True)
        try:
            stop.wait()
        finally:
            settings_file.unlink(missing_ok=True)
    print("Local Azure world stopped.")
    return 0


def start_app(world: LocalWorld, state_dir: Path, host_port: int, app_dir: Path = REPO_ROOT,
              **overrides: str) -> dict[str, str]:
    """Run our own function app (or, for the benchmark, another in `app_dir`, with our host.json) on the dev host
    against the world; return the settings a client adds."""
    app_settings = {**DEFAULTS, **world.settings(), "LOCALDEV_FUNCTION_KEY": secrets.token_urlsafe(18), **overrides}
    # The Functions host never creates its trigger queue; Azure's template does, so the world does here.
    ensure_exists(QueueClient.from_connection_string(world.storage_connection_string,
                                                    app_settings["TRAINING_REQUESTS_QUEUE"]))
    host = ManagedProcess(
        "dev host", [sys.executable, "-m", "localdev.host", "--port", str(host_port),
                     "--invocations", str(state_dir / INVOCATIONS_FILE), "--app-dir", str(app_dir),
                     "--host-json", str(REPO_ROOT / "host.json")],
        lambda: http_ready(f"http://127.0.0.1:{host_port}/api/trainings", also_ready=(401,)),  # up, wants its key
        state_dir / "dev-host.log", env={**os.environ, **app_settings},
    )
    world.processes.append(host)
    host.start()
    host.wait_ready(time.monotonic() + 60)
    return {"FUNCTIONS_URL": f"http://127.0.0.1:{host_port}/api",
            "FUNCTIONS_KEY": app_settings["LOCALDEV_FUNCTION_KEY"],
            **{name: app_settings[name] for name in DEFAULTS}}


if __name__ == "__main__":
    sys.exit(main())
