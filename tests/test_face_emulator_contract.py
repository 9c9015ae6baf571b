"""Property tests generated from the official contract (../shared/face-api-spec, read in place; this repository
keeps no copy): every Large Face List, Large Person Group and Person Group operation of every version, valid and invalid data, checked by all of
schemathesis's checks (server errors, status codes, content types, headers, response schemas, rejection of invalid
data, acceptance of valid data, ignored auth, unsupported methods). Where the contract is absent they do not run,
and the run's summary says so.

The schemas are loaded at import and parametrized here, rather than through `schemathesis.pytest.from_fixture`,
whose lazy loader touches a pytest internal that pytest 9 removed.
"""

from __future__ import annotations

import copy

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from localdev.world import LocalWorld
from tests.face_world import API_VERSIONS
from tests.official_contract import OFFICIAL_CONTRACT, needs_official_contract, swagger



def load(api_version: str):
    schema = schemathesis.openapi.from_dict(_with_target_face_bounded(copy.deepcopy(swagger(api_version))))
    # Swagger 2.0 cannot forbid unknown query parameters and the service ignores them, so a request carrying one
    # is not invalid data; by default schemathesis's negative mode assumes it is.
    schema.config.generation.update(allow_extra_parameters=False)
    return schema


def _with_target_face_bounded(spec: dict) -> dict:
    """v1.0 writes targetFace's 4-value bound inside `items`, where it binds nothing, so schemathesis would count 7
    values as valid data; v1.1 and later write it on the parameter, and every version's description says
    "left,top,width,height". The emulator holds every version to 4 values; so does the schema it is tested by."""
    target_face = spec.get("parameters", {}).get("targetFace")
    if target_face is not None and "minItems" not in target_face:
        items = target_face["items"]
        target_face["minItems"], target_face["maxItems"] = items.pop("minItems"), items.pop("maxItems")
    return spec


OPERATIONS = [(version, result.ok()) for version in API_VERSIONS if (OFFICIAL_CONTRACT / version).is_dir()
              for result in load(version).get_all_operations()]


@needs_official_contract
@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
@pytest.mark.parametrize("api_version, operation", OPERATIONS,
                         ids=[f"{v} {op.method.upper()} {op.path}" for v, op in OPERATIONS])
def test_every_operation_honours_the_contract(world: LocalWorld, emulator: str, api_version: str, operation,
                                              mode: GenerationMode) -> None:
    base_url = f"{world.face_http_endpoint}/face/{api_version}"
    key = {"Ocp-Apim-Subscription-Key": world.face_key}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=30, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def honours_the_contract(case) -> None:
        case.call_and_validate(base_url=base_url, headers=key)

    honours_the_contract()
