"""The Large Face List, Large Person Group and Person Group operations of the Face REST API, as the emulator serves
them: our own table, written from the official contract (Azure/azure-rest-api-specs, `specification/ai/data-plane/
Face`, each version's `Face.json`; see ../shared/face-api-spec/SOURCES.md). Facts carry over; no file of the
contract is kept here.

`tests/test_face_operations_table.py` holds this table to the official files wherever `../shared/face-api-spec` is
present (development machines and CI), operation by operation and constraint by constraint.

Where versions differ:
- v1.0 names its operations `LargeFaceList_*`, `LargePersonGroup_*`, `LargePersonGroupPerson_*`, `PersonGroup_*`
  and `PersonGroupPerson_*`; v1.1-preview.1 and later `FaceListOperations_*` and `PersonGroupOperations_*`;
- v1.0 gives a container id no minLength (its pattern needs one character anyway), an update's `name` no
  minLength, and the URL to add a face from no `uri` format; it gives `top` a default, and `start` a 64-character
  bound, only when listing groups; it does not require a person's name;
- v1.0 writes the training status `nonstarted`; later versions `notStarted`;
- v1.0 writes targetFace's 4-value bound inside `items`, where it binds nothing. Every version describes the value
  as "left,top,width,height", so the emulator holds every version to 4 values.
- A Person Group and a Large Person Group have the same parameters and bodies in every version.
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

_PERSON_CREATE_BODY = {"type": "object", "required": ["name"], "properties": {
    "name": _NAME, "userData": _LIST_USER_DATA}}
_PERSON_ID = Parameter("personId", "path", required=True, is_uuid=True)

_LISTS, _LIST = "/largefacelists", "/largefacelists/{largeFaceListId}"
_FACES, _FACE = f"{_LIST}/persistedfaces", f"{_LIST}/persistedfaces/{{persistedFaceId}}"
# (method, path, v1.1+ id, v1.0 id, body media type, parameters, body schema)
_LIST_TABLE = (
    ("GET", _LISTS, "FaceListOperations_GetLargeFaceLists", "LargeFaceList_List", None,
     (_START, _TOP, _RETURN_RECOGNITION_MODEL), None),
    ("GET", _LIST, "FaceListOperations_GetLargeFaceList", "LargeFaceList_Get", None,
     (_LIST_ID, _RETURN_RECOGNITION_MODEL), None),
    ("PUT", _LIST, "FaceListOperations_CreateLargeFaceList", "LargeFaceList_Create", JSON, (_LIST_ID,), _CREATE_BODY),
    ("PATCH", _LIST, "FaceListOperations_UpdateLargeFaceList", "LargeFaceList_Update", JSON, (_LIST_ID,),
     _UPDATE_BODY),
    ("DELETE", _LIST, "FaceListOperations_DeleteLargeFaceList", "LargeFaceList_Delete", None, (_LIST_ID,), None),
    ("GET", _FACES, "FaceListOperations_GetLargeFaceListFaces", "LargeFaceList_ListFaces", None,
     (_LIST_ID, _START, _TOP), None),
    ("POST", _FACES, "FaceListOperations_AddLargeFaceListFaceFromUrl", "LargeFaceList_AddFaceFromUrl", JSON,
     (_LIST_ID, *_ADD_FACE_QUERY), _FACE_URL_BODY),
    ("POST", _FACES, "FaceListOperations_AddLargeFaceListFace", "LargeFaceList_AddFaceFromStream", OCTET_STREAM,
     (_LIST_ID, *_ADD_FACE_QUERY), None),
    ("GET", _FACE, "FaceListOperations_GetLargeFaceListFace", "LargeFaceList_GetFace", None, (_LIST_ID, _FACE_ID),
     None),
    ("PATCH", _FACE, "FaceListOperations_UpdateLargeFaceListFace", "LargeFaceList_UpdateFace", JSON,
     (_LIST_ID, _FACE_ID), _FACE_USER_DATA_BODY),
    ("DELETE", _FACE, "FaceListOperations_DeleteLargeFaceListFace", "LargeFaceList_DeleteFace", None,
     (_LIST_ID, _FACE_ID), None),
    ("POST", f"{_LIST}/train", "FaceListOperations_TrainLargeFaceList", "LargeFaceList_Train", None, (_LIST_ID,),
     None),
    ("GET", f"{_LIST}/training", "FaceListOperations_GetLargeFaceListTrainingStatus", "LargeFaceList_GetTrainingStatus",
     None, (_LIST_ID,), None),
)


def _group_table(collection: str, id_name: str, noun: str) -> tuple:
    """A Person Group's or Large Person Group's operations: the group, its persons and their faces. Both kinds have
    the same parameters and bodies in every version; only their names and paths differ."""
    group_id = Parameter(id_name, "path", required=True, min_length=1, max_length=MAX_LIST_ID_CHARS,
                         pattern=LIST_ID_PATTERN)
    groups, group = f"/{collection}", f"/{collection}/{{{id_name}}}"
    persons, person = f"{group}/persons", f"{group}/persons/{{personId}}"
    faces, face = f"{person}/persistedfaces", f"{person}/persistedfaces/{{persistedFaceId}}"
    ids = (group_id, _PERSON_ID)
    new, old = "PersonGroupOperations_", f"{noun}"
    return (
        ("GET", groups, f"{new}Get{noun}s", f"{old}_List", None, (_START, _TOP, _RETURN_RECOGNITION_MODEL), None),
        ("GET", group, f"{new}Get{noun}", f"{old}_Get", None, (group_id, _RETURN_RECOGNITION_MODEL), None),
        ("PUT", group, f"{new}Create{noun}", f"{old}_Create", JSON, (group_id,), _CREATE_BODY),
        ("PATCH", group, f"{new}Update{noun}", f"{old}_Update", JSON, (group_id,), _UPDATE_BODY),
        ("DELETE", group, f"{new}Delete{noun}", f"{old}_Delete", None, (group_id,), None),
        ("GET", persons, f"{new}Get{noun}Persons", f"{old}Person_List", None, (group_id, _START, _TOP), None),
        ("POST", persons, f"{new}Create{noun}Person", f"{old}Person_Create", JSON, (group_id,), _PERSON_CREATE_BODY),
        ("GET", person, f"{new}Get{noun}Person", f"{old}Person_Get", None, ids, None),
        ("PATCH", person, f"{new}Update{noun}Person", f"{old}Person_Update", JSON, ids, _UPDATE_BODY),
        ("DELETE", person, f"{new}Delete{noun}Person", f"{old}Person_Delete", None, ids, None),
        ("POST", faces, f"{new}Add{noun}PersonFaceFromUrl", f"{old}Person_AddFaceFromUrl", JSON,
         (*ids, *_ADD_FACE_QUERY), _FACE_URL_BODY),
        ("POST", faces, f"{new}Add{noun}PersonFace", f"{old}Person_AddFaceFromStream", OCTET_STREAM,
         (*ids, *_ADD_FACE_QUERY), None),
        ("GET", face, f"{new}Get{noun}PersonFace", f"{old}Person_GetFace", None, (*ids, _FACE_ID), None),
        ("PATCH", face, f"{new}Update{noun}PersonFace", f"{old}Person_UpdateFace", JSON, (*ids, _FACE_ID),
         _FACE_USER_DATA_BODY),
        ("DELETE", face, f"{new}Delete{noun}PersonFace", f"{old}Person_DeleteFace", None, (*ids, _FACE_ID), None),
        ("POST", f"{group}/train", f"{new}Train{noun}", f"{old}_Train", None, (group_id,), None),
        ("GET", f"{group}/training", f"{new}Get{noun}TrainingStatus", f"{old}_GetTrainingStatus", None, (group_id,),
         None),
    )


_TABLE = (*_LIST_TABLE, *_group_table("largepersongroups", "largePersonGroupId", "LargePersonGroup"),
          *_group_table("persongroups", "personGroupId", "PersonGroup"))


def operations(api_version: str) -> tuple[OperationSpec, ...]:
    """Every operation the emulator serves in one version."""
    if api_version not in API_VERSIONS:
        raise ValueError(f"unknown Face API version {api_version!r}")
    specs = []
    for method, path, current_id, v1_0_id, media_type, parameters, body in _TABLE:
        spec = OperationSpec(method, path, current_id, current_id, media_type, parameters, body)
        specs.append(_as_in_v1_0(spec, v1_0_id) if api_version == "v1.0" else spec)
    return tuple(specs)


def train_operation_ids() -> tuple[str, ...]:
    """The train operation of each kind, by the v1.2 id that names it in the emulator's counters."""
    return tuple(o.canonical_id for o in operations(CANONICAL_VERSION) if o.method == "POST"
                 and o.path.endswith("/train"))


def training_statuses(api_version: str) -> tuple[str, ...]:
    """The values a training status takes, in the version's own spelling."""
    first = "nonstarted" if api_version == "v1.0" else "notStarted"
    return (first, "running", "succeeded", "failed")


def _as_in_v1_0(spec: OperationSpec, operation_id: str) -> OperationSpec:
    group_list = spec.operation_id.startswith("PersonGroupOperations_Get") and spec.path.count("/") == 1
    looser = {"largeFaceListId": {"min_length": None}, "largePersonGroupId": {"min_length": None},
              "personGroupId": {"min_length": None},
              # v1.0 gives `top` a default only when listing groups, and a bound to `start` only there.
              "top": {} if group_list else {"default": None},
              "start": {"max_length": 64} if group_list else {}}
    parameters = tuple(replace(p, **looser.get(p.name, {})) for p in spec.parameters)
    body = spec.body_schema
    unbounded_name = {"type": "string", "maxLength": MAX_NAME_CHARS}
    if body is _UPDATE_BODY:
        body = {**body, "properties": {**body["properties"], "name": unbounded_name}}
    elif body is _PERSON_CREATE_BODY:  # v1.0 does not require a person's name
        body = {"type": "object", "properties": {**body["properties"], "name": unbounded_name}}
    elif body is _FACE_URL_BODY:
        body = {**body, "properties": {"url": {"type": "string"}}}
    return replace(spec, operation_id=operation_id, parameters=parameters, body_schema=body)
