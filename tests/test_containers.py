"""Container identity: kinds, keys and paths. Pure."""

from __future__ import annotations

import pytest

from orchestrator.containers import ID_PATTERN, Container, Kind


@pytest.mark.parametrize("kind", list(Kind))
def test_a_key_names_one_container_and_reads_back(kind: Kind) -> None:
    container = Container(kind, "celebs_2-x")
    assert Container.from_key(container.key) == container
    assert ID_PATTERN.fullmatch(container.id) and not container.key.startswith("~")  # the in-flight partition
    assert not set(container.key) & set("/\\#?")  # characters a table key cannot hold


def test_a_large_face_list_keeps_the_key_it_had_before_there_were_other_kinds() -> None:
    assert Container.large_face_list("celebs").key == "celebs"


def test_containers_of_different_kinds_with_the_same_id_are_different() -> None:
    keys = {Container(kind, "celebs").key for kind in Kind}
    assert len(keys) == len(Kind)


def test_each_kind_has_its_path_request_field_and_noun() -> None:
    assert [Container(kind, "x").path for kind in Kind] == ["largefacelists/x", "largepersongroups/x",
                                                            "persongroups/x"]
    assert [kind.request_field for kind in Kind] == ["listId", "largePersonGroupId", "personGroupId"]
    assert [kind.noun for kind in Kind] == ["LargeFaceList", "LargePersonGroup", "PersonGroup"]
