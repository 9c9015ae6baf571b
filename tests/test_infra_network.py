"""The private deployment (`vnetEnabled`), checked on what the templates deploy in each mode (tests/bicep_eval.py):
with it on, every endpoint the app's settings name is reached through a private endpoint whose DNS zone is linked
to the app's network, and nothing the app uses takes public traffic; with it off, the deployment is exactly the
one before the parameter existed."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest
from pycep import BicepParser

from localdev.world import REPO_ROOT
from tests.bicep_eval import Deployed, Deployment, Runtime, Unsupported, deploy
from tests.bicep_modes import NotRenderable, render_text

INFRA = REPO_ROOT / "infra"
BEFORE_THE_PARAMETER = json.loads((Path(__file__).parent / "infra_public_deployment.json").read_text())
EXISTING_FACE = {"existingFaceName": "face-of-the-user", "existingFaceResourceGroupName": "rg-face"}
FACE_KINDS = {"new Face": {}, "existing Face": EXISTING_FACE}
BASE = {"environmentName": "demo", "location": "westeurope"}
ZONES = {"blob": "privatelink.blob.core.windows.net", "queue": "privatelink.queue.core.windows.net",
         "table": "privatelink.table.core.windows.net", "account": "privatelink.cognitiveservices.azure.com"}
# Address ranges a hub, a VPN or a home network most often already uses.
COMMON_RANGES = [ipaddress.ip_network(r) for r in ("10.0.0.0/16", "10.1.0.0/16", "172.16.0.0/16", "192.168.0.0/16")]


def private(face: dict) -> Deployment:
    return deploy(INFRA, {**BASE, **face, "vnetEnabled": True})


def one(deployment: Deployment, resource_type: str) -> Deployed:
    (found,) = deployment.of_type(resource_type)
    return found


def app_settings(deployment: Deployment) -> dict:
    return one(deployment, "Microsoft.Web/sites/config").body["properties"]


def endpoints_the_app_calls(deployment: Deployment) -> dict[str, tuple[str, str]]:
    """Each setting or property that names a data-plane endpoint: the resource it belongs to, and the
    sub-resource a private endpoint must reach it by."""
    site = one(deployment, "Microsoft.Web/sites").body["properties"]
    named = {name: value for name, value in app_settings(deployment).items() if isinstance(value, Runtime)}
    named["functionAppConfig.deployment.storage"] = site["functionAppConfig"]["deployment"]["storage"]["value"]
    found = {}
    for name, value in named.items():
        # The package's container URL is the blob endpoint with the container's name after it.
        storage = re.match(r"<?(.+?)\.properties\.primaryEndpoints\.(blob|queue|table)>?", value.text)
        face = re.fullmatch(r"(.+)\.properties\.endpoint", value.text)
        if storage:
            found[name] = (f"id of {storage.group(1)}", storage.group(2))
        elif face:
            found[name] = (f"id of {face.group(1)}", "account")
    return found


@pytest.mark.parametrize("kind", FACE_KINDS)
def test_off_the_deployment_is_exactly_the_one_before_the_parameter(kind: str) -> None:
    assert deploy(INFRA, {**BASE, **FACE_KINDS[kind]}).plain() == BEFORE_THE_PARAMETER[kind]
    assert deploy(INFRA, {**BASE, **FACE_KINDS[kind], "vnetEnabled": False}).plain() == BEFORE_THE_PARAMETER[kind]


@pytest.mark.parametrize("face", FACE_KINDS.values(), ids=FACE_KINDS.keys())
def test_every_endpoint_the_app_uses_has_a_private_endpoint_whose_zone_is_linked_to_the_apps_network(
        face: dict) -> None:
    deployment = private(face)
    network = one(deployment, "Microsoft.Network/virtualNetworks")
    endpoints = {(str(e.body["properties"]["privateLinkServiceConnections"][0]["properties"]["privateLinkServiceId"]),
                  e.body["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"][0]): e
                 for e in deployment.of_type("Microsoft.Network/privateEndpoints")}
    zone_groups = {group.name.rsplit("/", 1)[0]: group
                   for group in deployment.of_type("Microsoft.Network/privateEndpoints/privateDnsZoneGroups")}
    zones = {str(zone.id): zone for zone in deployment.of_type("Microsoft.Network/privateDnsZones")}
    links = deployment.of_type("Microsoft.Network/privateDnsZones/virtualNetworkLinks")

    called = endpoints_the_app_calls(deployment)
    assert {group for _, group in called.values()} == set(ZONES)  # blob, queue, table and Face, each named
    assert "FACE_ENDPOINT" in called and "functionAppConfig.deployment.storage" in called
    for setting, (resource_id, group) in called.items():
        endpoint = endpoints.get((f"<{resource_id}>", group))
        assert endpoint is not None, f"{setting}: no private endpoint reaches {resource_id} by {group}"
        assert endpoint.body["properties"]["subnet"]["id"] == Runtime(
            f"id of Microsoft.Network/virtualNetworks/subnets {network.name}/private-endpoints in rg-demo")
        (config,) = zone_groups[str(endpoint.name)].body["properties"]["privateDnsZoneConfigs"]
        zone = zones[str(config["properties"]["privateDnsZoneId"])]
        assert zone.name == ZONES[group] and zone.body["location"] == "global"
        linked = [link for link in links if link.name.split("/", 1)[0] == zone.name]
        assert [link.body["properties"]["virtualNetwork"]["id"] for link in linked] == [network.id], setting
        assert linked[0].body["properties"]["registrationEnabled"] is False
    assert len(zones) == len(ZONES) == len(endpoints)  # one zone per sub-resource, none twice


@pytest.mark.parametrize("face", FACE_KINDS.values(), ids=FACE_KINDS.keys())
def test_nothing_the_app_uses_takes_public_traffic(face: dict) -> None:
    deployment = private(face)
    storage = one(deployment, "Microsoft.Storage/storageAccounts").body["properties"]
    assert storage["publicNetworkAccess"] == "Disabled"
    assert storage["networkAcls"]["defaultAction"] == "Deny"
    faces = deployment.of_type("Microsoft.CognitiveServices/accounts")
    if face:  # the user's own resource is not the template's to change: docs/deploy.md says what to do
        assert faces == []
        face_endpoint = next(e for e in deployment.of_type("Microsoft.Network/privateEndpoints")
                             if "account" in e.body["properties"]["privateLinkServiceConnections"][0]["properties"][
                                 "groupIds"])
        target = face_endpoint.body["properties"]["privateLinkServiceConnections"][0]["properties"]
        assert target["privateLinkServiceId"] == Runtime(
            "id of Microsoft.CognitiveServices/accounts face-of-the-user in rg-face")
    else:
        (created,) = faces
        assert created.body["properties"]["publicNetworkAccess"] == "Disabled"
        assert created.body["properties"]["networkAcls"]["defaultAction"] == "Deny"


def test_the_app_sends_all_its_outbound_traffic_through_a_subnet_delegated_to_flex_consumption() -> None:
    deployment = private({})
    site = one(deployment, "Microsoft.Web/sites").body["properties"]
    network = one(deployment, "Microsoft.Network/virtualNetworks")
    assert site["virtualNetworkSubnetId"] == Runtime(
        f"id of Microsoft.Network/virtualNetworks/subnets {network.name}/app in rg-demo")
    assert site["vnetRouteAllEnabled"] is True
    subnets = {s["name"]: s["properties"] for s in network.body["properties"]["subnets"]}
    assert subnets["app"]["delegations"] == [
        {"name": "flex-consumption", "properties": {"serviceName": "Microsoft.App/environments"}}]
    groups = {str(g.id): g for g in deployment.of_type("Microsoft.Network/networkSecurityGroups")}
    assert {str(s["networkSecurityGroup"]["id"]) for s in subnets.values()} == set(groups)
    assert subnets["private-endpoints"]["privateEndpointNetworkPolicies"] == "Enabled"  # so its group applies


def test_the_address_ranges_fit_each_other_and_keep_clear_of_common_ranges() -> None:
    deployment = private({})
    network = one(deployment, "Microsoft.Network/virtualNetworks").body["properties"]
    (space,) = map(ipaddress.ip_network, network["addressSpace"]["addressPrefixes"])
    subnets = [ipaddress.ip_network(s["properties"]["addressPrefix"]) for s in network["subnets"]]
    assert all(subnet.subnet_of(space) for subnet in subnets)
    assert not subnets[0].overlaps(subnets[1])
    assert not any(space.overlaps(common) for common in COMMON_RANGES)
    assert subnets[0].num_addresses - 5 >= 100  # one address per instance, maximumInstanceCount's default


def test_the_deployer_gets_no_public_door_by_default() -> None:
    """A private deployment never opens storage to the internet on its own: the CLI goes through the network
    (docs/deploy.md); no parameter adds an IP rule."""
    deployment = private({})
    storage = one(deployment, "Microsoft.Storage/storageAccounts").body["properties"]
    assert "ipRules" not in storage["networkAcls"] and "virtualNetworkRules" not in storage["networkAcls"]


def test_the_parameter_reaches_azd_under_vnet_enabled_and_each_range_keeps_its_default() -> None:
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["vnetEnabled"]["value"] == "${VNET_ENABLED=false}"
    declared = BicepParser().parse(file_path=INFRA / "main.bicep")["parameters"]
    for name in ("vnetAddressPrefix", "appSubnetPrefix", "privateEndpointSubnetPrefix"):
        variable = re.fullmatch(r"\$\{([A-Z_]+)=(.+)\}", parameters[name]["value"])
        assert variable and variable.group(2) == declared[name]["default"], name


# --- the tools these tests stand on ---------------------------------------------------------------------------


def test_the_evaluator_decides_conditions_and_loops_and_refuses_what_it_does_not_model(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text("""
param on bool = false
var names = [
  'a'
  'b'
]
resource kept 'Microsoft.Network/networkSecurityGroups@2024-05-01' = [for name in names: if (on) {
  name: 'nsg-${name}'
  location: 'westeurope'
}]
resource always 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg'
  location: (on) ? 'northeurope' : 'westeurope'
}
""")
    assert [r.name for r in deploy(tmp_path, {}).resources] == ["nsg"]
    on = deploy(tmp_path, {"on": True})
    assert [r.name for r in on.resources] == ["nsg-a", "nsg-b", "nsg"]
    assert on.resources[-1].body["location"] == "northeurope"
    with pytest.raises(Unsupported):
        deploy(tmp_path, {"off": True})
    (tmp_path / "main.bicep").write_text("""
param when string = 'x'
resource r 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: contains(when, 'x') ? 'a' : 'b'
}
""")
    with pytest.raises(Unsupported, match="not known before deployment"):
        deploy(tmp_path, {})
    (tmp_path / "main.bicep").write_text("""
param on bool = true
resource first 'Microsoft.Network/networkSecurityGroups@2024-05-01' = if (on) {
  name: 'nsg'
}
resource second 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${first.name}-2'
}
""")
    assert [r.name for r in deploy(tmp_path, {}).resources] == ["nsg", "nsg-2"]  # a conditional one's name
    (tmp_path / "main.bicep").write_text("""
resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id'
}
resource when 'Microsoft.Network/networkSecurityGroups@2024-05-01' = if (id.properties.enabled) {
  name: 'nsg'
}
""")
    with pytest.raises(Unsupported, match="not known before deployment"):  # never dropped as if false
        deploy(tmp_path, {})


def test_the_mode_rendering_picks_each_side_and_refuses_any_other_use() -> None:
    text = ("  // checkov:skip=CKV_AZURE_59: without a VNet: public\n"
            "  // checkov:skip=CKV_AZURE_1: always: reason\n"
            "param vnetEnabled bool\n"
            "module m 'm.bicep' = if (vnetEnabled) {\n"
            "    vnetEnabled: vnetEnabled\n"
            "    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'\n")
    private_text, public_text = render_text(text, True), render_text(text, False)
    assert "publicNetworkAccess: 'Disabled'" in private_text and "if (true)" in private_text
    assert "CKV_AZURE_59" not in private_text and "CKV_AZURE_1:" in private_text
    assert "publicNetworkAccess: 'Enabled'" in public_text and "if (false)" in public_text
    assert "CKV_AZURE_59" in public_text
    with pytest.raises(NotRenderable):
        render_text("  x: !vnetEnabled ? 'a' : 'b'\n", True)
    with pytest.raises(NotRenderable):
        render_text("  x: vnetEnabled && other ? 'a' : 'b'\n", False)
