"""The dev host's reading of route templates (pure)."""

from __future__ import annotations

import pytest

from localdev.host.http import aiohttp_paths


@pytest.mark.parametrize("route, paths", [
    ("trainings/{first?}/{second?}", ["/trainings/{first}/{second}", "/trainings/{first}", "/trainings"]),
    ("trainings/{listId?}", ["/trainings/{listId}", "/trainings"]),
    ("items/{id:int?}", ["/items/{id}", "/items"]),
    ("orders/{id}/lines", ["/orders/{id}/lines"]),
    ("{name?}", ["/{name}", "/"]),
])
def test_trailing_optional_segments_may_be_left_out_the_last_first(route: str, paths: list[str]) -> None:
    assert aiohttp_paths(route) == paths
