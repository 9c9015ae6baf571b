"""What peers send is bounded before it is stored, sent or logged; an event always fits a queue message. Pure."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from orchestrator.bounds import MAX_FACE_MESSAGE_CHARS, bounded_id, bounded_text
from orchestrator.containers import Container, Kind
from orchestrator.events import (MAX_MESSAGE_WIRE_BYTES, EventType, Rejection, TrainingOutcome, rejection_event,
                                 terminal_event, wire_bytes)
from orchestrator.machine import Policy, requests_for_one_run

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
POLICY = Policy(api_version="v1.2-preview.1", max_training_seconds=3600, auth_retry_seconds=600)
# The characters that cost the most on the wire: `\u00e9` is six bytes in ASCII JSON, `&` five once escaped.
COSTLY = "\u00e9&"


def test_a_long_text_is_cut_and_says_how_much() -> None:
    text = "x" * 1_000_000
    bounded = bounded_text(text, 1024)
    assert len(bounded) <= 1024 and bounded.startswith("xxx") and bounded.endswith("characters cut]")
    assert str(1_000_000 - len(bounded.split("…")[0])) in bounded


def test_a_short_text_is_kept_but_on_one_line() -> None:
    assert bounded_text("fine", 1024) == "fine"
    assert bounded_text("forged\nINFO log line\r\x00", 1024) == "forged INFO log line "


def test_an_id_that_could_not_key_a_table_row_becomes_a_stable_digest() -> None:
    assert bounded_id("5b0d1c1e-0000-4000-8000-000000000001") == "5b0d1c1e-0000-4000-8000-000000000001"
    for hostile in ("a" * 101, "a/b", "a#b", "\u00e9", "x?y"):
        digest = bounded_id(hostile)
        assert digest == bounded_id(hostile) and digest.startswith("sha256-") and len(digest) <= 100
    assert bounded_id("a/b") != bounded_id("a#b")


# The kind with the longest key and the longest request field.
COSTLIEST_CONTAINER = max((Container(kind, "l" * 64) for kind in Kind),
                          key=lambda container: len(container.key) + len(container.kind.request_field))


def worst_outcome(error_message_chars: int) -> TrainingOutcome:
    """Every field at its largest and costliest: as many 128-character request ids as a run may name, an
    operation-Location, code and message made of the costliest characters."""
    request_ids = requests_for_one_run(tuple(f"{n:05d}" + "r" * 123 for n in range(2000)), POLICY)
    return TrainingOutcome(
        run_id=f"{COSTLIEST_CONTAINER.key}/run-{10**12}", container=COSTLIEST_CONTAINER, api_version=POLICY.api_version,
        operation_location="https://face.example/" + COSTLY * 512, status="protocolError", request_ids=request_ids,
        submitted_at=NOW, finished_at=NOW, error_code=COSTLY * 64, error_message=COSTLY * (error_message_chars // 2))


def test_the_costliest_event_fits_a_queue_message() -> None:
    message = terminal_event(EventType.TIMED_OUT, worst_outcome(10 * MAX_FACE_MESSAGE_CHARS)).to_message()
    assert wire_bytes(message) <= MAX_MESSAGE_WIRE_BYTES


def test_the_costliest_rejection_fits_a_queue_message() -> None:
    rejection = Rejection(COSTLY * 100_000, bounded_id("m" * 70_000), COSTLIEST_CONTAINER, "r" * 128)
    assert wire_bytes(rejection_event(rejection, NOW).to_message()) <= MAX_MESSAGE_WIRE_BYTES


@pytest.mark.parametrize("text, size", [("a", 1), ("\u00e9", 2), ("&", 5), ("<>", 8)])
def test_wire_bytes_counts_utf8_and_xml_escapes(text: str, size: int) -> None:
    assert wire_bytes(text) == size
