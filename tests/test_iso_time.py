"""Times on the wire (orchestrator/iso_time.py). Pure."""

from __future__ import annotations

from datetime import datetime, timezone

from orchestrator.iso_time import from_iso, to_iso

AT = datetime(2026, 12, 2, 6, 50, 12, 345600, tzinfo=timezone.utc)


def test_utc_is_written_with_z_and_read_back() -> None:
    assert to_iso(AT) == "2026-12-02T06:50:12.345600Z"
    assert from_iso(to_iso(AT)) == AT
    assert to_iso(None) is None


def test_face_s_and_dotnet_s_forms_are_read() -> None:
    assert from_iso("2026-12-02T06:50:12.3456789Z") == AT.replace(microsecond=345678)
    assert from_iso("2026-12-02T06:50:12.3456+00:00") == AT
    assert from_iso("2026-12-02T06:50:12.3456") == AT  # no offset: UTC
