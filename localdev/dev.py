"""`make dev`: bring the local world up on fixed ports and keep it running until Ctrl-C or SIGTERM.

Once every service is healthy, the settings a client needs are printed and written to `.localdev/settings.env`
as KEY=VALUE lines (`set -a; . .localdev/settings.env` loads them into a shell). The file is removed again on
shutdown, so a stale file never points at a world that is gone.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .world import REPO_ROOT, LocalWorld, Ports

STATE_DIR = REPO_ROOT / ".localdev"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.dev", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="divide Face training durations by this (default 1: as in Azure)")
    parser.add_argument("--free-ports", action="store_true", help="pick free ports instead of the fixed ones")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR,
                        help="certificates, keys, logs and settings.env (default .localdev)")
    args = parser.parse_args(argv)
    settings_file = args.state_dir / "settings.env"

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    world = LocalWorld(args.state_dir, ports=Ports.free() if args.free_ports else Ports.default(),
                       time_scale=args.time_scale, in_memory_storage=True)
    with world.start():
        settings = world.settings()
        settings_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
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


if __name__ == "__main__":
    sys.exit(main())
