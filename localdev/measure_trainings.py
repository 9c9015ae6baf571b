"""Face calls per training and the delay from a training's true finish to its event, on real time.

    python -m localdev.measure_trainings

Runs the real orchestrator (built by `orchestrator.runtime.build`) against the local world with the emulator at
time scale 1, calling the timer function's `tick()` every POLL_SCHEDULE period (5 s), as the host would. For a
list whose training really lasts about 5 s and one that lasts about 60 s, it measures two trainings each: the
first, with no history, and the second, when the list's last duration is known. Calls come from the emulator's
counters and the true finish from its timeline; nothing is estimated.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from azure.storage.queue import QueueClient

from orchestrator import runtime
from orchestrator.iso_time import from_iso
from orchestrator.machine import Phase

from .emulator_client import EmulatorClient
from .face_emulator.model import face_count_for
from .world import LocalWorld

TICK_SECONDS = 5.0
TARGETS_SECONDS = (5.0, 60.0)


def main() -> int:
    with tempfile.TemporaryDirectory() as state, LocalWorld(Path(state)) as world:
        world.start()
        settings = {"FACE_ENDPOINT": world.face_endpoint, "FACE_API_KEY": world.face_key,
                    "AzureWebJobsStorage": world.storage_connection_string,
                    "REQUESTS_CA_BUNDLE": str(world.trust_bundle)}
        import os

        os.environ.update(settings)
        orchestrator = runtime.build(settings)
        emulator = EmulatorClient.of(world)
        events = QueueClient.from_connection_string(world.storage_connection_string, "training-events")
        print(f"Polling policy: first poll {orchestrator.policy.first_poll_seconds:g} s, growth "
              f"x{orchestrator.policy.poll_growth:g}; with history: at the last duration, then every "
              f"{orchestrator.policy.known_poll_share:.0%} of it. Tick every {TICK_SECONDS:g} s.")
        print(f"{'list':>10} {'faces':>7} {'training':>9} {'true s':>7} {'Face calls':>11} {'delay s':>8} "
              f"{'delay share':>12}")
        for target in TARGETS_SECONDS:
            list_id = f"about-{target:g}-seconds"
            faces = face_count_for(target)
            emulator.create_list(list_id, faces)
            for number in (1, 2):
                before = emulator.stats()["totalCalls"]
                orchestrator.accept(json.dumps({"listId": list_id}).encode(), f"{list_id}-{number}")
                sent = datetime.now(timezone.utc)  # a training refused at once is reported by `accept` itself
                while orchestrator.store.load(list_id)[0].phase is not Phase.IDLE:
                    time.sleep(TICK_SECONDS)
                    orchestrator.tick()
                    # The tick that ends the training sends its event: the event's own `time` is Face's finish
                    # time, and the queue's timestamps have whole seconds, so the tick's end is the measure.
                    sent = datetime.now(timezone.utc)
                calls = emulator.stats()["totalCalls"] - before
                (message,) = list(events.receive_messages(max_messages=1))
                events.delete_message(message)
                truth = emulator.trainings()[-1]
                finished = from_iso(truth["finishedAt"])
                delay = (sent - finished).total_seconds()
                duration = truth["durationSeconds"]
                print(f"{target:>9g}s {faces:>7} {('first' if number == 1 else 'second'):>9} {duration:>7.1f} "
                      f"{calls:>11} {delay:>8.1f} {delay / duration:>12.0%}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
