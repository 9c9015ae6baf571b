"""The dev host's semantics, each against Azurite, with a tiny test app of its own (tests/host_app)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, QueueMessage

from localdev.world import REPO_ROOT, free_port
from orchestrator.iso_time import from_iso

HOST_APP = REPO_ROOT / "tests" / "host_app"


class DevHost:
    def __init__(self, world, tmp_path: Path, host_json: dict, schedule: str = "0 0 0 1 1 *",
                 suffix: str | None = None, **env) -> None:
        """A host of its own queues and host id, or, given another's `suffix`, one more instance of that app."""
        suffix = suffix or uuid.uuid4().hex[:8]
        self.suffix = suffix
        self.work_queue, self.seen_queue = f"work-{suffix}", f"seen-{suffix}"
        self.port = free_port()
        (tmp_path / "host.json").write_text(json.dumps({"version": "2.0", **host_json}))
        self.env = {**os.environ, "AzureWebJobsStorage": world.storage_connection_string, "WORK_QUEUE": self.work_queue,
                    "SEEN_QUEUE": self.seen_queue, "TICK_SCHEDULE": schedule, "LOCALDEV_FUNCTION_KEY": "test-key",
                    "AzureFunctionsWebHost__hostid": f"host-{suffix}", **env}
        self.tmp_path = tmp_path
        self.connection = world.storage_connection_string
        for name in (self.work_queue, self.seen_queue):
            try:
                QueueClient.from_connection_string(self.connection, name).create_queue()
            except ResourceExistsError:
                pass
        self.process: subprocess.Popen | None = None

    def start(self, *extra: str) -> "DevHost":
        self.log = open(self.tmp_path / "host.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localdev.host", "--app-dir", str(HOST_APP), "--settings", "/nonexistent",
             "--host-json", str(self.tmp_path / "host.json"), "--port", str(self.port), *extra],
            cwd=REPO_ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while b"dev host:" not in (self.tmp_path / "host.log").read_bytes():
            assert self.process.poll() is None, (self.tmp_path / "host.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        return self

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return self.process.wait(30)

    def send(self, text: str, encode_base64: bool = True) -> QueueMessage:
        queue = QueueClient.from_connection_string(self.connection, self.work_queue)
        content = base64.b64encode(text.encode()).decode() if encode_base64 else text
        return queue.send_message(content)

    def seen(self, count: int, timeout: float = 20) -> list[dict]:
        queue = QueueClient.from_connection_string(self.connection, self.seen_queue)
        found: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            for message in queue.receive_messages(messages_per_page=32, max_messages=32):
                found.append(json.loads(message.content))
                queue.delete_message(message)
            time.sleep(0.1)
        return found

    def queue_messages(self, name: str) -> list[str]:
        queue = QueueClient.from_connection_string(self.connection, name)
        try:
            return [m.content for m in queue.peek_messages(max_messages=32)]
        except Exception:  # noqa: BLE001 - the poison queue is created only when something is poisoned
            return []

    def log_text(self) -> str:
        return (self.tmp_path / "host.log").read_text()


@pytest.fixture
def dev_host(world, tmp_path):
    hosts: list[DevHost] = []

    def make(host_json: dict | None = None, **kwargs) -> DevHost:
        path = tmp_path / f"host{len(hosts)}"
        path.mkdir()
        hosts.append(DevHost(world, path, host_json or {}, **kwargs))
        return hosts[-1]

    yield make
    for host in hosts:
        if host.process and host.process.poll() is None:
            host.process.kill()
            host.process.wait()


QUICK = {"extensions": {"queues": {"maxPollingInterval": "00:00:01", "maxDequeueCount": 3}}}


def test_a_base64_message_runs_once_and_is_deleted(dev_host) -> None:
    """The function gets the message's metadata as the host gives it, through Microsoft's runtime."""
    host = dev_host(QUICK)
    journal = host.tmp_path / "invocations.jsonl"
    host.start("--invocations", str(journal))
    sent = host.send("hello")
    (seen,) = host.seen(1)
    assert (seen["body"], seen["id"], seen["dequeueCount"]) == ("hello", sent.id, 1)
    assert (seen["insertionTime"], seen["expirationTime"]) == (str(sent.inserted_on), str(sent.expires_on))
    time.sleep(1.5)
    assert host.queue_messages(host.work_queue) == []
    record = next(json.loads(line.split(" INFO ", 1)[1]) for line in host.log_text().splitlines()
                  if '"function": "work"' in line)
    assert record["outcome"] == "Succeeded" and record["invocationId"] and record["durationMs"] >= 0
    assert from_iso(record["startedAt"]) <= from_iso(record["endedAt"])
    # The harnesses read the same records from the journal, not from the log.
    logged = [json.loads(line.split(" INFO ", 1)[1]) for line in host.log_text().splitlines()
              if "localdev.host INFO {" in line]
    assert [json.loads(line) for line in journal.read_text().splitlines()] == logged and record in logged


def test_a_message_that_is_not_base64_goes_to_poison_without_running(dev_host) -> None:
    host = dev_host(QUICK).start()
    host.send("{not base64}", encode_base64=False)
    time.sleep(3)
    assert host.seen(0, timeout=0.5) == []
    assert host.queue_messages(f"{host.work_queue}-poison") == ["{not base64}"]


def test_with_encoding_none_plain_text_runs(dev_host) -> None:
    host = dev_host({"extensions": {"queues": {"messageEncoding": "none", "maxPollingInterval": "00:00:01"}}}).start()
    host.send('{"listId": "x"}', encode_base64=False)
    (seen,) = host.seen(1)
    assert seen["body"] == '{"listId": "x"}'


def test_failures_are_retried_after_the_visibility_timeout_then_poisoned(dev_host) -> None:
    host = dev_host({"extensions": {"queues": {"maxPollingInterval": "00:00:01", "maxDequeueCount": 3,
                                               "visibilityTimeout": "00:00:01"}}}).start()
    host.send("please fail")
    runs = host.seen(3, timeout=30)
    assert [r["dequeueCount"] for r in runs] == [1, 2, 3]
    assert all(b["started"] - a["started"] >= 0.9 for a, b in zip(runs, runs[1:]))  # visibilityTimeout waited
    time.sleep(1.5)
    assert [base64.b64decode(m).decode() for m in host.queue_messages(f"{host.work_queue}-poison")] == ["please fail"]
    assert host.seen(0, timeout=1) == []
    failures = [json.loads(line.split(" INFO ", 1)[1]) for line in host.log_text().splitlines()
                if '"outcome": "Failed"' in line]
    assert [f["error"] for f in failures] == ["RuntimeError: asked to fail"] * 3


def test_a_failure_s_message_is_logged_cut_to_size(dev_host) -> None:
    host = dev_host({"extensions": {"queues": {"maxPollingInterval": "00:00:01", "maxDequeueCount": 1}}}).start()
    host.send("fail loudly")
    host.seen(1)
    time.sleep(1.5)
    (line,) = [line for line in host.log_text().splitlines() if '"outcome": "Failed"' in line]
    assert len(line) < 2500 and "characters cut" in line


def test_a_run_past_function_timeout_fails_and_its_message_is_retried(dev_host) -> None:
    host = dev_host({"functionTimeout": "00:00:01", "extensions": {"queues": {
        "maxPollingInterval": "00:00:01", "visibilityTimeout": "00:00:01"}}}).start()
    host.send("sleep 3")
    runs = host.seen(2, timeout=20)
    assert [r["dequeueCount"] for r in runs] == [1, 2]
    assert "Timeout value of 0:00:01 (host.json functionTimeout) exceeded" in host.log_text()


def test_a_json_body_overrides_the_trigger_metadata_as_the_host_does(dev_host) -> None:
    """The host adds a JSON object's top-level properties to the binding data, case-insensitively: `id` and
    `DEQUEUECOUNT` replace the message's own `Id` and `DequeueCount`."""
    host = dev_host(QUICK).start()
    host.send(json.dumps({"id": "from-body", "DEQUEUECOUNT": 42, "list": [1]}))
    (seen,) = host.seen(1)
    assert (seen["id"], seen["dequeueCount"]) == ("from-body", 42)


def test_the_lease_is_renewed_while_a_long_run_lasts(dev_host) -> None:
    host = dev_host(QUICK).start("--lease-seconds", "4")
    host.send("sleep 9")
    (first,) = host.seen(1)
    assert host.seen(1, timeout=10) == []  # not redelivered, though the run outlives the 4 s lease twice over
    time.sleep(1)
    assert host.queue_messages(host.work_queue) == []


def test_batches_run_concurrently_up_to_batch_size(dev_host) -> None:
    """Sixteen at once: more than the runtime's own thread pool would run (cores + 4) without the limit the host
    gives the worker."""
    host = dev_host({"extensions": {"queues": {"batchSize": 16, "newBatchThreshold": 0,
                                               "maxPollingInterval": "00:00:01"}}})
    for n in range(32):
        host.send(f"sleep 1.5 #{n}")
    host.start()
    starts = sorted(r["started"] for r in host.seen(32, timeout=30))
    assert starts[15] - starts[0] < 1.4  # sixteen ran at once: all started before the first could finish
    assert starts[16] - starts[0] >= 1.4  # the next batch waited for that one to drain


def test_a_message_dequeued_too_often_goes_to_poison_unrun(dev_host, world) -> None:
    host = dev_host(QUICK)
    queue = QueueClient.from_connection_string(world.storage_connection_string, host.work_queue)
    queue.send_message(base64.b64encode(b"crashed the host every time").decode())
    for _ in range(3):  # three hosts took it and died (leases ran out)
        (message,) = queue.receive_messages(max_messages=1, visibility_timeout=1)
        time.sleep(1.1)
    host.start()
    time.sleep(3)
    assert host.seen(0, timeout=0.5) == []
    assert len(host.queue_messages(f"{host.work_queue}-poison")) == 1


def test_sigkill_loses_nothing(dev_host) -> None:
    host = dev_host(QUICK).start("--lease-seconds", "3")
    host.send("sleep 10")
    host.seen(1)
    host.process.kill()
    host.process.wait()
    host.start()  # a new host process on the same queue: the killed run's message comes back after its lease
    redelivered = host.seen(1, timeout=15)
    assert redelivered and redelivered[0]["dequeueCount"] == 2


def test_the_timer_runs_on_schedule_without_overlapping(dev_host) -> None:
    host = dev_host(QUICK, schedule="*/1 * * * * *", TICK_SECONDS="1.5").start()
    runs = host.seen(3, timeout=15)
    starts = [r["at"] for r in runs]
    assert all(b - a >= 1.5 for a, b in zip(starts, starts[1:]))  # the 1 s occurrences during a run are skipped
    assert not any(r["pastDue"] for r in runs)
    assert [r["status"] for r in runs] == [{}] * 3  # no schedule monitor for a schedule this frequent


def test_the_timer_fires_on_one_instance_and_moves_when_that_one_stops_or_dies(dev_host) -> None:
    """Two instances of one app (one host id): the lock keeps the timer on one; a stopped holder releases it and a
    killed one loses it when its lease runs out, and another instance takes over."""
    singleton = {**QUICK, "singleton": {"listenerLockPeriod": "00:00:15",
                                        "listenerLockRecoveryPollingInterval": "00:00:01"}}
    a = dev_host(singleton, schedule="*/1 * * * * *", HOST_TAG="a").start()
    b = dev_host(singleton, schedule="*/1 * * * * *", suffix=a.suffix, HOST_TAG="b").start()
    time.sleep(3)
    ticks = a.seen(6, timeout=10)
    (holder,) = {t["host"] for t in ticks}
    first, second = (a, b) if holder == "a" else (b, a)
    first.stop()
    a.seen(100, timeout=1)  # ticks the holder made before it stopped
    taken_over = a.seen(2, timeout=5)
    assert {t["host"] for t in taken_over} == {second.env["HOST_TAG"]}
    first.start()
    time.sleep(2)
    assert {t["host"] for t in a.seen(100, timeout=1)} == {second.env["HOST_TAG"]}  # the lock is still held
    second.process.kill()
    second.process.wait()
    killed_at = time.monotonic()
    after_kill = a.seen(1, timeout=25)
    assert after_kill[0]["host"] == first.env["HOST_TAG"]
    assert time.monotonic() - killed_at >= 5  # it waited for the dead instance's lease to run out


def test_a_timer_missed_while_the_host_was_down_runs_once_past_due(dev_host) -> None:
    host = dev_host(QUICK, schedule="0 */1 * * * *").start()
    time.sleep(1)
    host.stop()
    monitor_env = host.env
    # Pretend the host stayed down past the recorded next occurrence.
    from azure.storage.blob import BlobServiceClient

    blob = BlobServiceClient.from_connection_string(host.connection).get_blob_client(
        "azure-webjobs-hosts", f"timers/{monitor_env['AzureFunctionsWebHost__hostid']}/Host.Functions.tick/status")
    status = json.loads(blob.download_blob().readall())
    status["Next"] = "2020-01-01T00:00:00+00:00"
    blob.upload_blob(json.dumps(status), overwrite=True)
    host.start()
    (run,) = host.seen(1, timeout=10)
    assert run["pastDue"] is True and run["status"]["Next"] == "2020-01-01T00:00:00+00:00"


def test_http_routes_keys_and_auth_levels(dev_host) -> None:
    host = dev_host(QUICK).start()
    base = f"http://127.0.0.1:{host.port}/api"
    assert requests.get(f"{base}/things/abc", timeout=5).status_code == 401
    answer = requests.get(f"{base}/things/abc", params={"q": "1"}, headers={"x-functions-key": "test-key"}, timeout=5)
    assert answer.json() == {"name": "abc", "q": "1", "method": "GET", "tag": None, "body": ""}
    assert (answer.status_code, answer.headers["x-seen"], answer.headers["content-type"]) == (
        200, "yes", "application/json")
    posted = requests.post(f"{base}/things", params={"code": "test-key", "q": ""}, headers={"X-Tag": "t"},
                           data=b"payload", timeout=5)
    assert posted.status_code == 201
    assert posted.json() == {"name": None, "q": None, "method": "POST", "tag": "t", "body": "payload"}
    assert requests.delete(f"{base}/things", params={"code": "test-key"}, timeout=5).status_code == 405
    assert requests.get(f"{base}/open", timeout=5).text == "open"


def test_sigterm_stops_cleanly(dev_host) -> None:
    host = dev_host(QUICK).start()
    assert host.stop(signal.SIGTERM) == 0
    assert "dev host: stopped" in host.log_text()


def test_run_on_startup_runs_once_at_start(dev_host) -> None:
    host = dev_host(QUICK, REPORT_STARTUP="1").start()
    runs = [r for r in host.seen(1, timeout=10) if r["function"] == "at_startup"]
    assert runs == [{"function": "at_startup", "pastDue": False}]
    assert host.seen(1, timeout=2) == []


@pytest.mark.parametrize("expression, after, expected", [
    ("*/5 * * * * *", "2026-01-01T00:00:02+00:00", "2026-01-01T00:00:05+00:00"),  # seconds first
    ("0 */15 * * * *", "2026-01-01T00:00:02+00:00", "2026-01-01T00:15:00+00:00"),
    ("*/5 * * * *", "2026-01-01T00:00:02+00:00", "2026-01-01T00:05:00+00:00"),    # 5 fields: minutes first
])
def test_ncrontab_schedules(expression: str, after: str, expected: str) -> None:
    from datetime import datetime

    from localdev.host.timers import Schedule

    assert Schedule(expression).next_after(datetime.fromisoformat(after)) == datetime.fromisoformat(expected)


@pytest.mark.parametrize("expression", ["* * *", "every minute", "61 * * * * *"])
def test_bad_schedules_are_refused(expression: str) -> None:
    from localdev.host.config import HostConfigError
    from localdev.host.timers import Schedule

    with pytest.raises(HostConfigError):
        Schedule(expression)


def test_polling_backs_off_from_100_ms_to_the_maximum() -> None:
    from datetime import timedelta

    from localdev.host.queues import polling_delay

    delays = [polling_delay(n, timedelta(seconds=3)) for n in range(1, 10)]
    assert 0.18 <= delays[0] <= 0.22  # 100 ms plus 100 ms x [0.8, 1.2]
    assert all(a <= b * 1.5 for a, b in zip(delays, delays[1:]))
    assert delays[-1] == 3.0


@pytest.mark.parametrize("host_json, problem", [
    ({"singleton": {"listenerLockPeriod": "00:00:10"}}, "from 00:00:15 to 00:01:00"),
    ({"singleton": {"listenerLockPeriod": "00:02:00"}}, "from 00:00:15 to 00:01:00"),
    ({"singleton": {"listenerLockRecoveryPollingInterval": "00:00:00"}}, "at least 00:00:01"),
    ({"singleton": {"lockperiod": "00:00:15"}}, "unknown keys: lockperiod"),
])
def test_singleton_settings_out_of_range_are_refused(host_json: dict, problem: str) -> None:
    from localdev.host.config import HostConfigError, SingletonOptions

    with pytest.raises(HostConfigError, match=problem):
        SingletonOptions.from_host_json(host_json)


def test_singleton_settings_default_to_the_webjobs_sdk_s() -> None:
    from datetime import timedelta

    from localdev.host.config import SingletonOptions

    assert SingletonOptions.from_host_json({}) == SingletonOptions(timedelta(minutes=1), timedelta(minutes=1))
