"""The emulator's own table of the Face contract (localdev/face_emulator/operations.py) against the official
Swagger files in ../shared/face-api-spec: every operation of every version, every constraint."""

from __future__ import annotations

from dataclasses import replace

import pytest

from localdev.face_emulator import operations as table
from tests import official_contract
from tests.official_contract import needs_official_contract


def by_route(specs) -> dict:
    """Operations keyed by what tells them apart, each with its parameters in name order."""
    return {(s.method, s.path, s.body_media_type): replace(s, canonical_id="", parameters=tuple(
        sorted(s.parameters, key=lambda p: (p.location, p.name)))) for s in specs}


@needs_official_contract
@pytest.mark.parametrize("version", table.API_VERSIONS)
def test_the_table_states_what_the_official_contract_states(version: str) -> None:
    ours, official = by_route(table.operations(version)), by_route(official_contract.operations(version))
    assert ours.keys() == official.keys()
    for route, operation in official.items():
        assert ours[route] == operation, route
    assert table.training_statuses(version) == official_contract.training_statuses(version)


def test_every_version_names_each_operation_by_its_v1_2_id() -> None:
    canonical = {(s.method, s.path, s.body_media_type): s.operation_id for s in table.operations("v1.2")}
    for version in table.API_VERSIONS:
        specs = table.operations(version)
        assert len(specs) == 13 + 2 * 17
        assert all(s.canonical_id == canonical[(s.method, s.path, s.body_media_type)] for s in specs)
