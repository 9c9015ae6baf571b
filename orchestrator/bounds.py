"""Limits on what peers send us, applied at the edge before a value is stored, sent or logged.

Face's messages, codes and headers, and the ids producers choose, end up in table entities (a string property
holds 32K characters), in events (a queue message holds 64 KiB) and in log lines. A peer that misbehaves (a
gateway's error page, a 1 MB failure message, a megabyte of header) must not be able to make any of those fail or
grow, so each value is cut to a documented size here, once, where it enters.
"""

from __future__ import annotations

import hashlib
import re

# Face's own messages are a sentence ("There is no face in the large face list."); a thousand characters keeps
# any real one whole.
MAX_FACE_MESSAGE_CHARS = 1024
# Face's codes are identifiers such as LargeFaceListTrainingNotFinished.
MAX_FACE_CODE_CHARS = 128
# A header value quoted in a log line or an error (apim-request-id, a refused operation-Location).
MAX_QUOTED_HEADER_CHARS = 256
# An operation-Location is stored with the run and polled: Face's are about 150 characters.
MAX_OPERATION_LOCATION_CHARS = 1024
# The most of a Face answer that is read. A training status or an error envelope is a few hundred bytes, but a
# failed training whose message alone is a megabyte must still be read as "failed" (its message cut below), and
# eight calls at once then hold 8 MiB at most.
MAX_ANSWER_BYTES = 1024 * 1024
# A message id (a GUID from the queue, or a CloudEvent's `id` that the host promotes) as it names a request or a
# rejection event.
MAX_MESSAGE_ID_CHARS = 100

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]+")
_CUT_MARK_RESERVE = 32


def bounded_text(text: str, max_chars: int) -> str:
    """`text` on one line (control characters would forge log lines) and at most `max_chars` long, saying how
    much was cut."""
    single_line = _CONTROL.sub(" ", text)
    if len(single_line) <= max_chars:
        return single_line
    kept = single_line[:max_chars - _CUT_MARK_RESERVE]
    return f"{kept}…[{len(single_line) - len(kept)} characters cut]"


def first_line(error: BaseException, max_chars: int = MAX_FACE_MESSAGE_CHARS) -> str:
    """An SDK error's first line, bounded: the rest is often a dump of the peer's whole answer."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return bounded_text(lines[0], max_chars)


def bounded_id(text: str, max_chars: int = MAX_MESSAGE_ID_CHARS) -> str:
    """`text` itself when it is short and made of characters safe in a table key; otherwise a digest of it, so that
    the same input still names the same thing (a redelivered message stays the same request)."""
    if len(text) <= max_chars and _SAFE_ID.fullmatch(text):
        return text
    return "sha256-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
