"""The Bicep in infra/, checked offline: no Bicep compiler or Azure is reachable here, so the templates are parsed
(pycep-parser, the parser checkov uses) and their trees asserted against what the code and the security model
need; checkov then lints them. Only `az bicep build` / `azd provision --preview` on a networked machine checks
types and API versions (docs/deploy.md).
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml
from opentelemetry.metrics import NoOpMeter
from pycep import BicepParser

from localdev.world import REPO_ROOT
from orchestrator import metrics as metrics_module
from orchestrator.metrics import Metrics
from orchestrator.settings import API_VERSIONS, DEFAULTS
from tests.bicep_modes import render
from tests.orchestrator_world import settings_read

INFRA = REPO_ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"

ROLE = {  # built-in role definition ids
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Storage Table Data Reader": "76199698-9eea-4c19-bc75-cec21354c6b6",
    "Cognitive Services User": "a97b65f3-24c7-4388-baec-2e87135dc908",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}
# Settings the code reads that Azure gets in another form, each with the reason.
LOCAL_ONLY = {
    "FACE_API_KEY": "keys are disabled on a created Face resource; the app uses its identity",
    "AzureWebJobsStorage": "the connection-string form; Azure uses the identity-based AzureWebJobsStorage__* settings",
}
# Read by the Functions host, not by our code.
HOST_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
# Flex Consumption rejects or ignores these (https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations).
FLEX_DEPRECATED = {
    "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE", "WEBSITE_NODE_DEFAULT_VERSION",
}


@cache
def tree(name: str) -> dict:
    return BicepParser().parse(file_path=INFRA / name)


def dotted(expression) -> str:
    """`storage.properties.primaryEndpoints.blob` from pycep's nested property accessors; literals as they are."""
    if isinstance(expression, dict) and expression.get("operator", {}).get("type") == "property_accessor":
        operands = expression["operator"]["operands"]
        return f"{dotted(operands['operand_1'])}.{dotted(operands['operand_2'])}"
    return expression


def resources_of_type(name: str, resource_type: str) -> dict[str, dict]:
    return {symbol: resource["config"] for symbol, resource in tree(name)["resources"].items()
            if resource["type"] == resource_type}


def the_resource(name: str, resource_type: str) -> dict:
    (config,) = resources_of_type(name, resource_type).values()
    return config


def role_assignments() -> list[dict]:
    """Every role assignment in every file, with its role id resolved from a `var` or the loop's array."""
    found = []
    for path in BICEP_FILES:
        name = path.relative_to(INFRA).as_posix()
        variables = tree(name).get("variables", {})
        for symbol, config in resources_of_type(name, "Microsoft.Authorization/roleAssignments").items():
            loop = config.get("loop_type")
            body = config["config"] if loop else config
            role_parameter = body["properties"]["roleDefinitionId"]["function"]["parameters"]
            assert role_parameter["resource_type"] == "Microsoft.Authorization/roleDefinitions", symbol
            role_ref = dotted(role_parameter["resource_name_1"])
            guid = body["name"]["function"]
            assert guid["type"] == "guid", f"{symbol}: the name must be a deterministic guid()"
            guid_parts = [dotted(part) for part in guid["parameters"].values() if part is not None]
            if loop:
                item, array = loop["detail"]["item_name"], loop["detail"]["array_name"]
                assert role_ref == f"{item}.id"
                role_ids = [entry["id"] for entry in variables[array]["value"]]
            else:
                role_ids = [variables[role_ref]["value"]]
            for role_id in role_ids:
                found.append({"file": name, "symbol": symbol, "role_id": role_id, "scope": body["scope"],
                              "principal": body["properties"]["principalId"],
                              "principal_type": body["properties"]["principalType"],
                              "guid": guid_parts, "role_ref": role_ref,
                              "condition": config.get("condition")})
    return found


def module_body(symbol: str) -> dict:
    """A main.bicep module's body; pycep nests a conditional module's one level down."""
    config = tree("main.bicep")["modules"][symbol]["config"]
    return config["config"] if "condition" in config else config


def main_param_default(setting: str):
    """The main.bicep parameter behind an orchestrator setting, and its default."""
    value = tree("main.bicep")["variables"]["orchestratorSettings"]["value"][setting]
    parameter = tree("main.bicep")["parameters"].get(value)
    assert parameter is not None, f"{setting} is not set from a main.bicep parameter"
    return value, parameter["default"]


def app_settings() -> dict:
    """The function app's settings: functionapp.bicep's host settings merged with main.bicep's orchestrator ones."""
    config = the_resource("modules/functionapp.bicep", "Microsoft.Web/sites/config")
    assert config["name"] == "appsettings"
    merged = config["properties"]["function"]
    assert merged["type"] == "union"
    assert list(merged["parameters"].values()) == ["hostSettings", "orchestratorSettings"]
    app_module = module_body("app")["params"]
    assert app_module["orchestratorSettings"] == "orchestratorSettings"
    return {**tree("modules/functionapp.bicep")["variables"]["hostSettings"]["value"],
            **tree("main.bicep")["variables"]["orchestratorSettings"]["value"]}


# --- syntax ---------------------------------------------------------------------------------------------------


def test_the_infra_folder_has_the_main_template_and_its_modules() -> None:
    assert [p.relative_to(INFRA).as_posix() for p in BICEP_FILES] == [
        "main.bicep", "modules/alerts.bicep", "modules/face-access.bicep", "modules/face.bicep",
        "modules/functionapp.bicep", "modules/identity.bicep", "modules/monitoring.bicep", "modules/network.bicep",
        "modules/private-endpoint.bicep", "modules/storage.bicep", "modules/workbook.bicep"]


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_bicep_file_parses(path: Path) -> None:
    parsed = tree(path.relative_to(INFRA).as_posix())
    assert parsed["resources"] or parsed.get("modules")


def test_the_parser_gate_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.bicep"
    broken.write_text("resource x 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'a'\n")
    with pytest.raises(Exception):
        BicepParser().parse(file_path=broken)


def test_every_local_module_exists_and_gets_every_parameter_it_lacks_a_default_for() -> None:
    for symbol, module in tree("main.bicep")["modules"].items():
        assert module["type"] == "local", f"{symbol}: registry modules cannot be checked offline"
        path = module["detail"]["path"]
        assert (INFRA / path).is_file(), path
        declared = tree(path)["parameters"]
        given = set(module_body(symbol)["params"])
        assert given <= set(declared), f"{symbol} passes parameters {path} does not declare"
        required = {name for name, parameter in declared.items() if parameter["default"] is None}
        assert required <= given, f"{symbol} leaves out {required - given}"


# --- security -------------------------------------------------------------------------------------------------


def test_storage_is_identity_only_https_only_tls12_and_never_public_for_blobs() -> None:
    properties = the_resource("modules/storage.bicep", "Microsoft.Storage/storageAccounts")["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True
    assert properties["defaultToOAuthAuthentication"] is True
    container = the_resource("modules/storage.bicep", "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container["properties"]["publicAccess"] == "None"


def test_a_created_face_resource_takes_entra_id_tokens_only() -> None:
    face = the_resource("modules/face.bicep", "Microsoft.CognitiveServices/accounts")
    assert face["kind"] == "Face"
    # Managed-identity tokens work only on a custom subdomain endpoint.
    assert face["properties"]["customSubDomainName"] == "name" == face["name"]
    assert face["properties"]["disableLocalAuth"] is True
    assert tree("modules/face.bicep")["parameters"]["skuName"]["decorators"][0]["argument"] == ["F0", "S0"]


def test_application_insights_accepts_entra_id_telemetry_only() -> None:
    component = the_resource("modules/monitoring.bicep", "Microsoft.Insights/components")
    assert component["properties"]["DisableLocalAuth"] is True
    assert component["properties"]["WorkspaceResourceId"] == {
        "operator": {"type": "property_accessor", "operands": {"operand_1": "logAnalytics", "operand_2": "id"}}}


def test_the_function_app_is_flex_consumption_python_311_with_one_user_assigned_identity() -> None:
    plan = the_resource("modules/functionapp.bicep", "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert plan["properties"]["reserved"] is True
    app = the_resource("modules/functionapp.bicep", "Microsoft.Web/sites")
    assert app["kind"] == "functionapp,linux"
    assert app["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {"'${identityId}'": {}}}
    assert app["properties"]["httpsOnly"] is True
    assert app["properties"]["siteConfig"]["minTlsVersion"] == "1.2"
    assert app["properties"]["siteConfig"]["ftpsState"] == "Disabled"
    config = app["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.13"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["value"] == "${storageBlobEndpoint}${deploymentContainerName}"
    assert storage["authentication"] == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}


def test_each_role_is_assigned_with_its_id_on_its_scope_under_a_deterministic_name() -> None:
    assignments = role_assignments()
    app = {(a["file"], a["scope"], a["role_id"]) for a in assignments if a["principal"] == "appPrincipalId"}
    assert app == {
        ("modules/storage.bicep", "storage", ROLE["Storage Blob Data Owner"]),
        ("modules/storage.bicep", "storage", ROLE["Storage Queue Data Contributor"]),
        ("modules/storage.bicep", "storage", ROLE["Storage Table Data Contributor"]),
        ("modules/face-access.bicep", "face", ROLE["Cognitive Services User"]),
        ("modules/monitoring.bicep", "applicationInsights", ROLE["Monitoring Metrics Publisher"]),
    }
    deployer = {(a["scope"], a["role_id"]) for a in assignments if a["principal"] == "deployerPrincipalId"}
    assert deployer == {("storage", ROLE["Storage Queue Data Contributor"]),
                        ("storage", ROLE["Storage Table Data Reader"])}
    assert len(assignments) == len(app) + len(deployer)
    for assignment in assignments:
        # guid(scope.id, principal, role): stable across redeployments, unique per scope, principal and role.
        assert assignment["guid"] == [f"{assignment['scope']}.id", assignment["principal"], assignment["role_ref"]]
        if assignment["principal"] == "appPrincipalId":
            assert assignment["principal_type"] == "ServicePrincipal"
            assert assignment["condition"] is None
        else:  # only when azd knows who deploys, with the type it reports (a CI service principal is no User)
            assert assignment["principal_type"] == "deployerPrincipalType"
            assert assignment["condition"] == {"operator": {"type": "not", "operands": {"bool_value": {
                "function": {"type": "empty", "parameters": {"item_to_test": "deployerPrincipalId"}}}}}}


def test_every_role_goes_to_the_apps_identity() -> None:
    for symbol in ("storage", "monitoring", "faceAccess"):
        assert dotted(module_body(symbol)["params"]["appPrincipalId"]) == "identity.outputs.principalId"
    # The app must not start before its roles exist, or its first ticks fail on 403.
    assert set(module_body("app")["dependsOn"]) >= {"storage", "monitoring", "faceAccess"}


def test_the_face_resource_is_either_created_or_an_existing_one_is_used() -> None:
    main = tree("main.bicep")
    assert main["modules"]["face"]["config"]["condition"] == "createFace"
    assert main["variables"]["createFace"]["value"] == {
        "function": {"type": "empty", "parameters": {"item_to_test": "existingFaceName"}}}
    assert module_body("face")["params"]["name"] == "faceName"
    access = module_body("faceAccess")
    assert access["scope"]["function"]["parameters"]["resource_group_name"] == "faceResourceGroupName"
    assert access["params"]["faceName"] == "faceName"
    existing = tree("modules/face-access.bicep")["resources"]["face"]
    assert existing["existing"] is True and existing["config"]["name"] == "faceName"
    assert dotted(tree("modules/face-access.bicep")["outputs"]["endpoint"]["value"]) == "face.properties.endpoint"


# --- settings -------------------------------------------------------------------------------------------------


def test_the_app_gets_every_setting_the_code_reads_and_nothing_else() -> None:
    read = settings_read()
    settings = set(app_settings())
    assert read - settings == set(LOCAL_ONLY), "settings the code reads that Azure would not get"
    assert settings - read <= HOST_SETTINGS, "settings nobody reads"
    assert HOST_SETTINGS <= settings
    assert not settings & FLEX_DEPRECATED


def test_orchestrator_settings_come_from_main_parameters_with_the_codes_defaults() -> None:
    for setting, default in DEFAULTS.items():
        parameter, parameter_default = main_param_default(setting)
        assert parameter_default == default, f"{parameter} defaults to {parameter_default!r}, the code to {default!r}"
    version = tree("main.bicep")["parameters"]["faceApiVersion"]["decorators"]
    assert {"type": "allowed", "argument": list(API_VERSIONS)} in version


def test_identity_face_and_storage_settings_point_at_the_deployed_resources() -> None:
    settings = app_settings()
    assert dotted(settings["FACE_ENDPOINT"]) == "faceAccess.outputs.endpoint"
    assert dotted(settings["AZURE_CLIENT_ID"]) == "identity.outputs.clientId"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    params = module_body("app")["params"]
    assert dotted(params["identityClientId"]) == "identity.outputs.clientId"
    assert dotted(params["identityId"]) == "identity.outputs.id"
    for service in ("Blob", "Queue", "Table"):
        assert settings[f"AzureWebJobsStorage__{service.lower()}ServiceUri"] == f"storage{service}Endpoint"
        assert dotted(params[f"storage{service}Endpoint"]) == f"storage.outputs.{service.lower()}Endpoint"
        output = tree("modules/storage.bicep")["outputs"][f"{service.lower()}Endpoint"]["value"]
        assert dotted(output) == f"storage.properties.primaryEndpoints.{service.lower()}"


def test_the_queues_and_the_table_the_template_creates_are_the_ones_the_app_uses() -> None:
    queues = {dotted(config["name"]) for config in resources_of_type(
        "modules/storage.bicep", "Microsoft.Storage/storageAccounts/queueServices/queues").values()}
    assert queues == {"trainingRequestsQueue", "trainingEventsQueue", "${trainingRequestsQueue}-poison"}
    table = the_resource("modules/storage.bicep", "Microsoft.Storage/storageAccounts/tableServices/tables")
    assert table["name"] == "trainingsTable"
    storage_params = module_body("storage")["params"]
    settings = app_settings()
    for name, setting in (("trainingRequestsQueue", "TRAINING_REQUESTS_QUEUE"),
                          ("trainingEventsQueue", "TRAINING_EVENTS_QUEUE"), ("trainingsTable", "TRAININGS_TABLE")):
        assert storage_params[name] == settings[setting] == main_param_default(setting)[0]
    # The poison queue is named after the trigger's queue, which binds %TRAINING_REQUESTS_QUEUE%
    # (tests/test_function_app.py checks the binding).


# --- azd ------------------------------------------------------------------------------------------------------


def test_azure_yaml_deploys_this_folder_as_the_function_service_api() -> None:
    azure = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    assert azure["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    tags = the_resource("modules/functionapp.bicep", "Microsoft.Web/sites")["tags"]["function"]["parameters"]
    assert tags["arg_2"] == {"'azd-service-name'": "api"}
    assert tree("main.bicep")["variables"]["tags"]["value"] == {"'azd-env-name'": "environmentName"}


def test_main_parameters_map_azd_variables_onto_main_bicep_parameters() -> None:
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    declared = tree("main.bicep")["parameters"]
    assert set(parameters) <= set(declared)
    assert {name for name, p in declared.items() if p["default"] is None} <= set(parameters)
    assert parameters["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert parameters["location"]["value"] == "${AZURE_LOCATION}"
    assert parameters["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    assert parameters["principalType"]["value"] == "${AZURE_PRINCIPAL_TYPE=User}"
    assert {"type": "metadata", "argument": {"azd": {"type": "location"}}} in declared["location"]["decorators"]
    assert tree("main.bicep")["globals"]["scope"]["value"] == "subscription"


def test_outputs_give_the_cli_its_settings_under_the_names_it_reads() -> None:
    outputs = tree("main.bicep")["outputs"]
    assert {"AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME",
            "SERVICE_API_NAME"} <= set(outputs)
    # `azd env get-values` into the environment is all `facetrain` needs (docs/deploy.md).
    read = settings_read()
    setting_like = {name for name in outputs if not name.startswith(("AZURE_", "SERVICE_", "APPLICATIONINSIGHTS_"))}
    assert setting_like <= read
    assert {"AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri", "TRAINING_REQUESTS_QUEUE",
            "TRAINING_EVENTS_QUEUE", "TRAININGS_TABLE", "FACE_ENDPOINT"} <= setting_like


# --- checkov --------------------------------------------------------------------------------------------------


def checkov(directory: Path) -> dict:
    """checkov's JSON report for the Bicep under `directory`; fails on files it could not parse, which checkov
    itself counts but still exits 0 for."""
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: `make setup` installs it"
    run = subprocess.run([str(CHECKOV), "-d", str(directory), "--framework", "bicep", "--skip-download", "-o", "json"],
                         capture_output=True, text=True, timeout=240, env={"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin"})
    report = json.loads(run.stdout)
    summary = report["summary"]
    if summary["parsing_errors"]:
        raise AssertionError(f"checkov could not parse {report['results']['parsing_errors']}")
    assert run.returncode == (1 if summary["failed"] else 0), run.stderr[-2000:]
    return report


@pytest.mark.world
@pytest.mark.parametrize("vnet_enabled", [False, True], ids=["public", "private"])
def test_checkov_finds_nothing_in_either_mode_and_every_skip_says_why(vnet_enabled: bool, tmp_path: Path) -> None:
    """Each mode rendered (tests/bicep_modes.py): checkov cannot evaluate `vnetEnabled ? ... : ...` itself."""
    report = checkov(render(INFRA, vnet_enabled, tmp_path / "infra"))
    summary = report["summary"]
    failed = [(c["check_id"], c["file_path"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["passed"] >= 20 and summary["resource_count"] >= 20
    skipped = {check["check_id"] for check in report["results"]["skipped_checks"]}
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"]["suppress_comment"].strip()
        assert len(reason) >= 30, f"{check['check_id']} on {check['resource']} is skipped without a reason"
    passed = {check["check_id"] for check in report["results"]["passed_checks"]}
    # Public network access on storage and Face: skipped, with the reason, without a network; passed with one.
    public_only = {"CKV_AZURE_35", "CKV_AZURE_59", "CKV_AZURE_134"}
    assert public_only <= (passed if vnet_enabled else skipped)
    assert not public_only & (skipped if vnet_enabled else passed)


@pytest.mark.world
def test_checkov_would_catch_weakened_storage_and_the_gate_fails_on_unparsable_bicep(tmp_path: Path) -> None:
    weak = (INFRA / "modules" / "storage.bicep").read_text()
    weak = re.sub(r"\s*// checkov:skip=[^\n]*", "", weak)
    weak = weak.replace("minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'")
    weak = weak.replace("supportsHttpsTrafficOnly: true", "supportsHttpsTrafficOnly: false")
    (tmp_path / "storage.bicep").write_text(weak)
    failed = {c["check_id"] for c in checkov(tmp_path)["results"]["failed_checks"]}
    assert {"CKV_AZURE_44", "CKV_AZURE_3"} <= failed

    (tmp_path / "storage.bicep").write_text("resource x 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n")
    with pytest.raises(AssertionError, match="could not parse"):
        checkov(tmp_path)


class _NamesOfInstruments(NoOpMeter):
    """The OpenTelemetry API's no-op meter, noting the name of every instrument made on it."""

    def __init__(self) -> None:
        super().__init__("names")
        self.names: list[str] = []

    def __getattribute__(self, attribute: str):
        found = super().__getattribute__(attribute)
        if attribute.startswith("create_"):
            def noting(name, *args, **kwargs):
                self.names.append(name)
                return found(name, *args, **kwargs)
            return noting
        return found


def metric_names() -> set[str]:
    meter = _NamesOfInstruments()
    Metrics(meter).observe(in_flight=list, poison_depth=int)
    return set(meter.names)


def monitoring_queries() -> dict[str, str]:
    """Every Kusto query the deployment runs: the alert rules' and the workbook's, by name."""
    rules = {rule["name"]: rule["query"] for rule in tree("modules/alerts.bicep")["variables"]["rules"]["value"]}
    workbook = json.loads((INFRA / "modules" / "workbook.json").read_text())
    return {**rules, **{item["name"]: item["content"]["query"] for item in workbook["items"] if item["type"] == 3}}


def test_every_alert_and_chart_reads_metrics_and_attributes_the_app_records() -> None:
    attributes = {value for name, value in vars(metrics_module).items() if name.isupper() and "." in str(value)}
    for name, query in monitoring_queries().items():
        assert set(re.findall(r'name == "([^"]+)"', query)) <= metric_names(), name
        assert set(re.findall(r'customDimensions\["([^"]+)"\]', query)) <= attributes, name
    charted = " ".join(q for name, q in monitoring_queries().items() if not name.startswith("facetrain-"))
    assert {n for n in metric_names() if f'"{n}"' in charted} == metric_names() - {"facetrain.training.elapsed",
                                                                                 "facetrain.trainings.submitted"}
    assert '"429"' in charted


def test_the_alerts_cover_the_operators_questions_and_every_threshold_is_a_main_parameter_on_its_page() -> None:
    rules = {rule["name"]: rule for rule in tree("modules/alerts.bicep")["variables"]["rules"]["value"]}
    assert set(rules) == {"facetrain-poisoned-requests", "facetrain-failed-trainings", "facetrain-stuck-training",
                          "facetrain-face-throttling", "facetrain-function-failures"}
    assert rules["facetrain-face-throttling"]["periods"] == 3  # sustained: three windows in a row
    thresholds = {name for name in tree("modules/alerts.bicep")["parameters"]} - {
        "location", "tags", "applicationInsightsId", "alertEmail"}
    passed = module_body("alerts")["params"]
    page = (REPO_ROOT / "docs" / "operations.md").read_text()
    for name in thresholds | {"alertEmail"}:
        assert passed[name] == name, name
        default = tree("main.bicep")["parameters"][name]["default"]
        assert f"| `{name}` | {default if default != '' else '(empty)'} |" in page, name
    for name, rule in rules.items():  # the page shows each rule's query as deployed
        assert f"| `{name}` | {rule['severity']} | `{rule['query'].replace('|', chr(92) + '|')}` |" in page, name
    # The action group always exists, so that receivers can be added later; the e-mail is optional.
    group = the_resource("modules/alerts.bicep", "Microsoft.Insights/actionGroups")
    assert group["properties"]["enabled"] is True and group["location"] == "Global"
