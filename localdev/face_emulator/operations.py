"""The Large Face List operations of the Face REST API, as the emulator serves them: our own table, written from the
official contract (Azure/azure-rest-api-specs, `specification/ai/data-plane/Face`, each version's `Face.json`; see
../shared/face-api-spec/SOURCES.md). Facts carry over; no file of the contract is kept here.

`tests/test_face_operations_table.py` holds this table to the official files wherever `../shared/face-api-spec` is
present (development machines and CI), operation by operation and constraint by constraint.

Where versions differ:
- v1.0 names its operations `LargeFaceList_*`; v1.1-preview.1 and later `FaceListOperations_*`;
- v1.0 gives the list id no minLength (its pattern needs one character anyway), `top` no default, an update's
  `name` no minLength, and the URL to add a face from no `uri` format;
- v1.0 writes the training status `nonstarted`; later versions `notStarted`;
- v1.0 writes targetFace's 4-value bound inside `items`, where it binds nothing. Every version describes the value
  as "left,top,width,height", so the emulator holds every version to 4 values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

API_VERSIONS = ("v1.0", "v1.1-preview.1", "v1.2-preview.1", "v1.2")
CANONICAL_VERSION = "v1.2"
JSON = "application/json"
OCTET_STREAM = "application/octet-stream"
LIST_ID_PATTERN = "^[a-z0-9-_]+$"
MAX_LIST_ID_CHARS = 64
MAX_NAME_CHARS = 128
MAX_LIST_USER_DATA_CHARS = 16384
MAX_FACE_USER_DATA_CHARS = 1024
MAX_PAGE_SIZE = 1000
DETECTION_MODELS = ("detection_01", "detection_02", "detection_03")
RECOGNITION_MODELS = ("recognition_01", "recognition_02", "recognition_03", "recognition_04")


@dataclass(frozen=True)
class Parameter:
    """A path or query parameter and every constraint the contract states for it."""

    name: str
    location: str  # "path" or "query"
    kind: str = "string"  # "string", "integer", "boolean" or "array" (comma-separated)
    required: bool = False
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    is_uuid: bool = False
    enum: tuple[str, ...] | None = None
    item_kind: str | None = None
    min_items: int | None = None
    max_items: int | None = None


@dataclass(frozen=True)
class OperationSpec:
    """One operation of one version. `body_schema` is the JSON Schema of a JSON body (None for no body, or for
    the raw image of add-face, which the contract leaves unconstrained)."""

    method: str
    path: str
    operation_id: str
    canonical_id: str  # the v1.2 id, which names the operation in the emulator whatever the version
    body_media_type: str | None
    parameters: tuple[Parameter, ...]
    body_schema: Mapping[str, Any] | None = None


_LIST_ID = Parameter("largeFaceListId", "path", required=True, min_length=1, max_length=MAX_LIST_ID_CHARS,
                     pattern=LIST_ID_PATTERN)
_FACE_ID = Parameter("persistedFaceId", "path", required=True, is_uuid=True)
_START = Parameter("start", "query")
_TOP = Parameter("top", "query", kind="integer", default=MAX_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
_RETURN_RECOGNITION_MODEL = Parameter("returnRecognitionModel", "query", kind="boolean", default=False)
_ADD_FACE_QUERY = (
    Parameter("targetFace", "query", kind="array", item_kind="integer", min_items=4, max_items=4),
    Parameter("detectionModel", "query", default="detection_01", enum=DETECTION_MODELS),
    Parameter("userData", "query", max_length=MAX_FACE_USER_DATA_CHARS),
)
_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS}
_LIST_USER_DATA = {"type": "string", "maxLength": MAX_LIST_USER_DATA_CHARS}
_CREATE_BODY = {"type": "object", "required": ["name"], "properties": {
    "name": _NAME, "userData": _LIST_USER_DATA,
    "recognitionModel": {"type": "string", "default": "recognition_01", "enum": list(RECOGNITION_MODELS)}}}
_UPDATE_BODY = {"type": "object", "properties": {"name": _NAME, "userData": _LIST_USER_DATA}}
_FACE_URL_BODY = {"type": "object", "required": ["url"], "properties": {"url": {"type": "string", "format": "uri"}}}
_FACE_USER_DATA_BODY = {"type": "object", "properties": {
    "userData": {"type": "string", "maxLength": MAX_FACE_USER_DATA_CHARS}}}

_LISTS, _LIST = "/largefacelists", "/largefacelists/{largeFaceListId}"
_FACES, _FACE = f"{_LIST}/persistedfaces", f"{_LIST}/persistedfaces/{{persistedFaceId}}"
# (method, path, v1.2 id, v1.0 id, body media type, parameters, body schema)
_TABLE = (
    ("GET", _LISTS, "GetLargeFaceLists", "List", None, (_START, _TOP, _RETURN_RECOGNITION_MODEL), None),
    ("GET", _LIST, "GetLargeFaceList", "Get", None, (_LIST_ID, _RETURN_RECOGNITION_MODEL), None),
    ("PUT", _LIST, "CreateLargeFaceList", "Create", JSON, (_LIST_ID,), _CREATE_BODY),
    ("PATCH", _LIST, "UpdateLargeFaceList", "Update", JSON, (_LIST_ID,), _UPDATE_BODY),
    ("DELETE", _LIST, "DeleteLargeFaceList", "Delete", None, (_LIST_ID,), None),
    ("GET", _FACES, "GetLargeFaceListFaces", "ListFaces", None, (_LIST_ID, _START, _TOP), None),
    ("POST", _FACES, "AddLargeFaceListFaceFromUrl", "AddFaceFromUrl", JSON, (_LIST_ID, *_ADD_FACE_QUERY),
     _FACE_URL_BODY),
    ("POST", _FACES, "AddLargeFaceListFace", "AddFaceFromStream", OCTET_STREAM, (_LIST_ID, *_ADD_FACE_QUERY),
     None),
    ("GET", _FACE, "GetLargeFaceListFace", "GetFace", None, (_LIST_ID, _FACE_ID), None),
    ("PATCH", _FACE, "UpdateLargeFaceListFace", "UpdateFace", JSON, (_LIST_ID, _FACE_ID), _FACE_USER_DATA_BODY),
    ("DELETE", _FACE, "DeleteLargeFaceListFace", "DeleteFace", None, (_LIST_ID, _FACE_ID), None),
    ("POST", f"{_LIST}/train", "TrainLargeFaceList", "Train", None, (_LIST_ID,), None),
    ("GET", f"{_LIST}/training", "GetLargeFaceListTrainingStatus", "GetTrainingStatus", None, (_LIST_ID,), None),
)


def operations(api_version: str) -> tuple[OperationSpec, ...]:
    """Every Large Face List operation of one version."""
    if api_version not in API_VERSIONS:
        raise ValueError(f"unknown Face API version {api_version!r}")
    specs = []
    for method, path, current_id, v1_0_id, media_type, parameters, body in _TABLE:
        canonical = f"FaceListOperations_{current_id}"
        spec = OperationSpec(method, path, canonical, canonical, media_type, parameters, body)
        specs.append(_as_in_v1_0(spec, f"LargeFaceList_{v1_0_id}") if api_version == "v1.0" else spec)
    return tuple(specs)


def training_statuses(api_version: str) -> tuple[str, ...]:
    """The values a training status takes, in the version's own spelling."""
    first = "nonstarted" if api_version == "v1.0" else "notStarted"
    return (first, "running", "succeeded", "failed")


def _as_in_v1_0(spec: OperationSpec, operation_id: str) -> OperationSpec:
    looser = {"largeFaceListId": {"min_length": None}, "top": {"default": None}}
    parameters = tuple(replace(p, **looser.get(p.name, {})) for p in spec.parameters)
    body = spec.body_schema
    if body is _UPDATE_BODY:
        body = {**body, "properties": {**body["properties"], "name": {"type": "string", "maxLength": MAX_NAME_CHARS}}}
    elif body is _FACE_URL_BODY:
        body = {**body, "properties": {"url": {"type": "string"}}}
    return replace(spec, operation_id=operation_id, parameters=parameters, body_schema=body)
