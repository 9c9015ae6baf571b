"""Every resource infra/ declares, type-checked against Azure's own resource type index (the one the Bicep compiler
loads, read in place from ../shared/azure-resource-types), as Bicep would on a networked machine: 0 findings. The
check itself is shown to catch each kind of mistake it looks for."""

from __future__ import annotations

from pathlib import Path

import pytest
from pycep import BicepParser

from localdev.world import REPO_ROOT
from tests.bicep_modes import render
from tests.bicep_types import TypeIndex, check_file

TYPE_INDEX = REPO_ROOT.parent / "shared" / "azure-resource-types" / "types.json"
pytestmark = pytest.mark.skipif(
    not TYPE_INDEX.is_file(),
    reason=f"NOT RUN: Azure's resource type index is not at {TYPE_INDEX} (it is on development machines and in CI); "
           "these tests type-check infra/ against it")
INFRA = REPO_ROOT / "infra"


@pytest.fixture(scope="module")
def index() -> TypeIndex:
    return TypeIndex(TYPE_INDEX)


@pytest.mark.parametrize("vnet_enabled", [False, True], ids=["public", "private"])
def test_every_resource_in_infra_passes_the_type_check_in_either_mode(index: TypeIndex, vnet_enabled: bool,
                                                                     tmp_path: Path) -> None:
    """Each mode rendered (tests/bicep_modes.py), so that each side of a `vnetEnabled ? ... : ...` is a literal
    the check reads, not an expression of unknown type."""
    rendered = render(INFRA, vnet_enabled, tmp_path / "infra")
    files = sorted(rendered.rglob("*.bicep"))
    findings = [str(f) for path in files
                for f in check_file(index, BicepParser().parse(file_path=path), path.relative_to(rendered).as_posix())]
    assert findings == []
    declared = {f"{r['type']}@{r['api_version']}" for path in files
                for r in BicepParser().parse(file_path=path)["resources"].values()}
    assert len(declared) >= 21 and declared <= set(index.resources)
    assert {"Microsoft.Network/virtualNetworks@2024-05-01", "Microsoft.Network/privateEndpoints@2024-05-01",
            "Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01"} <= declared


MISTAKES = """
param location string
var sharedKeys = 'no'
var closedByDefault = 'Block'
var rules = [
  {
    severity: 2
  }
  {
    severity: 'high'
  }
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st'
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: sharedKeys
    minimumTlsVersions: 'TLS1_2'
    networkAcls: {
      defaultAction: closedByDefault
    }
    primaryEndpoints: {}
  }
}

resource appi 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi'
  location: location
  properties: {
    Application_Type: 'web'
  }
}

resource old 'Microsoft.Insights/components@2015-05-01' = {
  name: 'old'
}

resource never 'Microsoft.Insights/components@2001-01-01' = {
  name: 'never'
}

resource group 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag'
  location: 'Global'
  properties: {
    groupShortName: 'far-too-long-a-name'
    enabled: null
    armRoleReceivers: null
    emailReceivers: [
      {
        name: 'ops'
        emailAddress: 'ops@example.com'
        useCommonAlertSchema: 'yes'
      }
    ]
  }
}

resource alerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: 'alert-rule'
  location: location
  properties: {
    severity: rule.severity
  }
}]
"""


def test_the_check_catches_each_kind_of_mistake(index: TypeIndex) -> None:
    findings = {str(f) for f in check_file(index, BicepParser().parse(text=MISTAKES), "mistakes.bicep")}
    assert findings == {
        "mistakes.bicep: storage.name: length 2 is outside 3..24",
        "mistakes.bicep: storage.properties.allowSharedKeyAccess: 'no' is not a boolean",
        "mistakes.bicep: storage.properties.minimumTlsVersions: no such property",
        "mistakes.bicep: storage.properties.networkAcls.defaultAction: 'Block' is none of ['Allow', 'Deny']",
        "mistakes.bicep: storage.properties.primaryEndpoints: read-only",
        "mistakes.bicep: appi.kind: required, and missing",
        "mistakes.bicep: old: Microsoft.Insights/components@2015-05-01 exists, but is not in the type index's "
        "extract: add it there (SOURCES.md)",
        "mistakes.bicep: never: Microsoft.Insights/components has no API version 2001-01-01 (it has 2015-05-01, "
        "2018-05-01-preview, 2020-02-02, 2020-02-02-preview)",
        "mistakes.bicep: group.properties.groupShortName: length 19 is outside 0..12",
        "mistakes.bicep: group.properties.emailReceivers[0].useCommonAlertSchema: 'yes' is not a boolean",
        "mistakes.bicep: group.properties.enabled: required, and null",
        "mistakes.bicep: alerts[1].properties.severity: 'high' is not an integer",
    }
