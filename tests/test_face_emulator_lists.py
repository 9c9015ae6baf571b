"""Large Face List and face operations of the emulator, every version, over HTTP."""

from __future__ import annotations

import http.server
import threading
import uuid

import pytest
import requests

from tests.face_world import FaceHttp, assert_face_error, image_bytes


def test_list_lifecycle(face: FaceHttp, list_id: str) -> None:
    face.create_list(list_id, userData="owner=team-a", recognitionModel="recognition_04")

    got = face.call("GET", f"/largefacelists/{list_id}")
    assert got.json() == {"largeFaceListId": list_id, "name": list_id, "userData": "owner=team-a"}
    with_model = face.call("GET", f"/largefacelists/{list_id}", params={"returnRecognitionModel": "true"})
    assert with_model.json()["recognitionModel"] == "recognition_04"

    assert face.call("PATCH", f"/largefacelists/{list_id}", json={"name": "renamed"}).status_code == 200
    assert face.call("GET", f"/largefacelists/{list_id}").json()["name"] == "renamed"

    assert face.call("DELETE", f"/largefacelists/{list_id}").status_code == 200
    assert_face_error(face.call("GET", f"/largefacelists/{list_id}"), 404, "LargeFaceListNotFound")


def test_default_recognition_model_is_recognition_01(face: FaceHttp, list_id: str) -> None:
    face.create_list(list_id)
    got = face.call("GET", f"/largefacelists/{list_id}", params={"returnRecognitionModel": "true"}).json()
    assert got["recognitionModel"] == "recognition_01"


def test_lists_page_in_ascending_id_order_from_start(face: FaceHttp) -> None:
    ids = [f"page-{n:02d}" for n in (3, 1, 4, 2, 5)]
    for list_id in ids:
        face.create_list(list_id)
    first = face.call("GET", "/largefacelists", params={"top": 2}).json()
    assert [lfl["largeFaceListId"] for lfl in first] == ["page-01", "page-02"]
    rest = face.call("GET", "/largefacelists", params={"start": "page-02"}).json()
    assert [lfl["largeFaceListId"] for lfl in rest] == ["page-03", "page-04", "page-05"]
    assert "recognitionModel" not in rest[0]


def test_creating_an_existing_list_conflicts(face: FaceHttp, list_id: str) -> None:
    face.create_list(list_id)
    assert_face_error(face.call("PUT", f"/largefacelists/{list_id}", json={"name": "again"}), 409,
                      "LargeFaceListExists")


@pytest.mark.parametrize("bad_id", ["UPPER", "has space", "x" * 65, "caf\u00e9", "a.b", "a%2Fb", "..%2Fx", "abc%0A"])
def test_list_ids_outside_the_contract_are_bad_arguments(face: FaceHttp, bad_id: str) -> None:
    assert_face_error(face.call("PUT", f"/largefacelists/{bad_id}", json={"name": "n"}), 400, "BadArgument")


def test_the_longest_valid_id_is_accepted(face: FaceHttp) -> None:
    face.create_list("a-_" + "9" * 61)


@pytest.mark.parametrize("body, mentions", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "n" * 129}, "name"),
    ({"name": "n", "userData": "u" * 16385}, "userData"),
    ({"name": "n", "recognitionModel": "recognition_99"}, "recognitionModel"),
    ({"name": 5}, "name"),
])
def test_create_body_is_validated_by_the_spec(face: FaceHttp, list_id: str, body: dict, mentions: str) -> None:
    message = assert_face_error(face.call("PUT", f"/largefacelists/{list_id}", json=body), 400, "BadArgument")
    assert mentions in message


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]"])
def test_create_body_must_be_a_json_object(face: FaceHttp, list_id: str, raw: bytes) -> None:
    response = face.call("PUT", f"/largefacelists/{list_id}", data=raw, headers={"Content-Type": "application/json"})
    assert_face_error(response, 400, "BadArgument")


def test_update_needs_name_or_user_data(face: FaceHttp, list_id: str) -> None:
    face.create_list(list_id)
    message = assert_face_error(face.call("PATCH", f"/largefacelists/{list_id}", json={}), 400, "BadArgument")
    assert message == "Both 'name' and 'userData' are empty."


@pytest.mark.parametrize("params, mentions", [
    ({"top": "0"}, "top"), ({"top": "1001"}, "top"), ({"top": "ten"}, "top"),
    ({"start": "s" * 65}, "start"), ({"returnRecognitionModel": "maybe"}, "returnRecognitionModel"),
])
def test_paging_parameters_are_validated(face: FaceHttp, params: dict, mentions: str) -> None:
    message = assert_face_error(face.call("GET", "/largefacelists", params=params), 400, "BadArgument")
    assert mentions in message


def test_face_lifecycle(face: FaceHttp, list_id: str) -> None:
    face.create_list(list_id)
    face_id = face.add_face(list_id, userData="photo-1", detectionModel="detection_03")
    assert uuid.UUID(face_id)

    assert face.call("GET", f"/largefacelists/{list_id}/persistedfaces/{face_id}").json() == {
        "persistedFaceId": face_id, "userData": "photo-1"}
    assert face.call("PATCH", f"/largefacelists/{list_id}/persistedfaces/{face_id}",
                     json={"userData": "photo-1b"}).status_code == 200
    assert face.call("GET", f"/largefacelists/{list_id}/persistedfaces/{face_id}").json()["userData"] == "photo-1b"

    assert face.call("DELETE", f"/largefacelists/{list_id}/persistedfaces/{face_id}").status_code == 200
    assert_face_error(face.call("GET", f"/largefacelists/{list_id}/persistedfaces/{face_id}"), 404,
                      "PersistedFaceNotFound")


def test_faces_page_in_ascending_id_order(face: FaceHttp, list_id: str) -> None:
    face.create_list(list_id)
    ids = sorted(face.add_face(list_id) for _ in range(5))
    first = face.call("GET", f"/largefacelists/{list_id}/persistedfaces", params={"top": 3}).json()
    assert [f["persistedFaceId"] for f in first] == ids[:3]
    rest = face.call("GET", f"/largefacelists/{list_id}/persistedfaces", params={"start": ids[2]}).json()
    assert [f["persistedFaceId"] for f in rest] == ids[3:]


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "GIF", "BMP"])
def test_each_documented_image_format_is_accepted(face_v12: FaceHttp, list_id: str, image_format: str) -> None:
    face_v12.create_list(list_id)
    response = face_v12.call("POST", f"/largefacelists/{list_id}/persistedfaces",
                             data=image_bytes(image_format=image_format),
                             headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("data, params, code", [
    (b"\x89PNG" + b"\0" * 100, {}, "InvalidImageSize"),                   # under 1 KB
    (b"\0" * (6 * 1024 * 1024 + 1), {}, "InvalidImageSize"),              # over 6 MB
    (b"this is not an image at all" * 100, {}, "InvalidImage"),
    (image_bytes(20, 20, "BMP"), {}, "InvalidImage"),                      # too small to hold a 36x36 face
    (image_bytes(), {"targetFace": "150,150,100,100"}, "InvalidImage"),     # outside the 200x200 image
    (image_bytes(), {"targetFace": "1,2,3"}, "BadArgument"),
    (image_bytes(), {"detectionModel": "detection_09"}, "BadArgument"),
    (image_bytes(), {"userData": "u" * 1025}, "BadArgument"),
])
def test_bad_images_and_options_are_refused(face: FaceHttp, list_id: str, data: bytes, params: dict,
                                            code: str) -> None:
    face.create_list(list_id)
    response = face.call("POST", f"/largefacelists/{list_id}/persistedfaces", params=params, data=data,
                         headers={"Content-Type": "application/octet-stream"})
    assert_face_error(response, 400, code)


def test_bodies_over_the_server_limit_get_the_operation_s_error(face_v12: FaceHttp, emulator: str,
                                                                  list_id: str) -> None:
    face_v12.create_list(list_id)
    too_big = b"\0" * (9 * 1024 * 1024)
    image = face_v12.call("POST", f"/largefacelists/{list_id}/persistedfaces", data=too_big,
                          headers={"Content-Type": "application/octet-stream"})
    assert_face_error(image, 400, "InvalidImageSize")
    assert "too large" in assert_face_error(face_v12.call("PATCH", f"/largefacelists/{list_id}", data=too_big,
                                                          headers={"Content-Type": "application/json"}),
                                            400, "BadArgument")
    responses = requests.get(f"{emulator}/stats", timeout=5).json()["responses"]
    assert responses["FaceListOperations_AddLargeFaceListFace"] == {"400": 1}
    assert responses["FaceListOperations_UpdateLargeFaceList"] == {"400": 1}


def test_target_face_inside_the_image_is_accepted(face_v12: FaceHttp, list_id: str) -> None:
    face_v12.create_list(list_id)
    assert face_v12.add_face(list_id, targetFace="10,10,100,120")


@pytest.fixture(scope="module")
def image_server():
    """A local web server holding one image, for add-face-from-URL."""
    payload = image_bytes(image_format="JPEG")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/face.jpg":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.end_headers()
                self.wfile.write(payload)
            else:
                self.send_error(404)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_add_face_from_url(face: FaceHttp, list_id: str, image_server: str) -> None:
    face.create_list(list_id)
    response = face.call("POST", f"/largefacelists/{list_id}/persistedfaces", json={"url": f"{image_server}/face.jpg"},
                         params={"userData": "from-url"})
    assert response.status_code == 200, response.text
    face_id = response.json()["persistedFaceId"]
    assert face.call("GET", f"/largefacelists/{list_id}/persistedfaces/{face_id}").json()["userData"] == "from-url"


@pytest.mark.parametrize("body, code", [
    ({"url": "/missing.jpg"}, "InvalidURL"),
    ({"url": "ftp://example.invalid/face.jpg"}, "InvalidURL"),
    ({}, "BadArgument"),
])
def test_add_face_from_a_bad_url(face: FaceHttp, list_id: str, image_server: str, body: dict, code: str) -> None:
    face.create_list(list_id)
    if body.get("url", "").startswith("/"):
        body = {"url": image_server + body["url"]}
    assert_face_error(face.call("POST", f"/largefacelists/{list_id}/persistedfaces", json=body), 400, code)


def test_faces_of_a_missing_list(face: FaceHttp) -> None:
    assert_face_error(face.call("POST", "/largefacelists/nope/persistedfaces", data=image_bytes(),
                                headers={"Content-Type": "application/octet-stream"}), 404, "LargeFaceListNotFound")
    assert_face_error(face.call("GET", "/largefacelists/nope/persistedfaces"), 404, "LargeFaceListNotFound")


def test_persisted_face_id_must_be_a_uuid(face: FaceHttp, list_id: str) -> None:
    face.create_list(list_id)
    assert_face_error(face.call("GET", f"/largefacelists/{list_id}/persistedfaces/not-a-uuid"), 400, "BadArgument")


def test_unknown_version_and_path_are_not_found(face: FaceHttp, world) -> None:
    key = {"Ocp-Apim-Subscription-Key": world.face_key}
    assert_face_error(face.session.get(f"{world.face_http_endpoint}/face/v9.9/largefacelists", headers=key,
                                       timeout=5), 404, "404")
    assert_face_error(face.call("GET", "/facelists"), 404, "404")


def test_a_method_the_path_does_not_have_is_refused(face: FaceHttp) -> None:
    response = face.call("POST", "/largefacelists")
    assert_face_error(response, 405, "405")
    assert response.headers["Allow"] == "GET"
