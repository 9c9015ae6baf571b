"""Times on the wire: ISO 8601 in UTC with a `Z`, as events and the status endpoint write them and Face does."""

from __future__ import annotations

from datetime import datetime, timezone


def to_iso(moment: datetime | None) -> str | None:
    """A UTC time (the orchestrator keeps no other) with `Z` for its offset."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def from_iso(text: str) -> datetime:
    """Python 3.11+ reads `Z` and .NET's seven fractional digits; a time without an offset is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
