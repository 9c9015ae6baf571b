"""The official Face SDK (azure-ai-vision-face) runs a whole Large Face List lifecycle, and a whole Large Person
Group lifecycle, against the emulator, unchanged, with a key and with a managed-identity token, over HTTPS as in
Azure. (The SDK has no Person Group client; Person Groups are tested over REST, test_face_emulator_groups.py.)"""

from __future__ import annotations

import pytest
import requests
from azure.ai.vision.face import FaceAdministrationClient
from azure.ai.vision.face.models import FaceOperationStatus
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential

from localdev.world import LocalWorld
from tests.face_world import NO_ROLE_CLIENT_ID, image_bytes


def admin_client(world: LocalWorld, credential) -> FaceAdministrationClient:
    return FaceAdministrationClient(world.face_endpoint, credential, connection_verify=str(world.certificate.ca_file))


def run_lifecycle(client: FaceAdministrationClient, list_id: str) -> None:
    lists = client.large_face_list
    lists.create(list_id, name="Celebrities", user_data="sdk", recognition_model="recognition_04")
    assert lists.get(list_id, return_recognition_model=True).recognition_model == "recognition_04"
    lists.update(list_id, name="Celebrities 2")
    assert [l.large_face_list_id for l in lists.get_large_face_lists()] == [list_id]

    added = [lists.add_face(list_id, image_bytes(), user_data=f"face-{n}").persisted_face_id for n in range(3)]
    assert sorted(f.persisted_face_id for f in lists.get_faces(list_id)) == sorted(added)
    lists.update_face(list_id, added[0], user_data="renamed")
    assert lists.get_face(list_id, added[0]).user_data == "renamed"
    lists.delete_face(list_id, added[1])

    with pytest.raises(ResourceNotFoundError) as not_trained:
        lists.get_training_status(list_id)
    assert not_trained.value.error.code == "LargeFaceListNotTrained"

    poller = lists.begin_train(list_id, polling_interval=0.05)
    assert poller.result(timeout=30) is None
    assert poller.status().lower() == "succeeded"
    status = lists.get_training_status(list_id)
    assert status.status == FaceOperationStatus.SUCCEEDED
    assert status.last_successful_training_date_time == status.last_action_date_time

    lists.delete(list_id)
    with pytest.raises(ResourceNotFoundError):
        lists.get(list_id)


def run_large_person_group_lifecycle(client: FaceAdministrationClient, group_id: str) -> None:
    groups = client.large_person_group
    groups.create(group_id, name="Employees", user_data="sdk", recognition_model="recognition_04")
    assert groups.get(group_id, return_recognition_model=True).recognition_model == "recognition_04"
    groups.update(group_id, name="Employees 2")
    assert [g.large_person_group_id for g in groups.get_large_person_groups()] == [group_id]

    ada = groups.create_person(group_id, name="Ada", user_data="first").person_id
    grace = groups.create_person(group_id, name="Grace").person_id
    assert sorted(p.person_id for p in groups.get_persons(group_id)) == sorted([ada, grace])
    groups.update_person(group_id, grace, name="Grace H")
    assert groups.get_person(group_id, grace).name == "Grace H"
    faces = [groups.add_face(group_id, ada, image_bytes(), user_data=f"face-{n}").persisted_face_id for n in range(2)]
    assert groups.get_person(group_id, ada).persisted_face_ids == faces
    groups.update_face(group_id, ada, faces[0], user_data="renamed")
    assert groups.get_face(group_id, ada, faces[0]).user_data == "renamed"
    groups.delete_face(group_id, ada, faces[1])
    groups.delete_person(group_id, grace)

    with pytest.raises(ResourceNotFoundError) as not_trained:
        groups.get_training_status(group_id)
    assert not_trained.value.error.code == "LargePersonGroupNotTrained"
    poller = groups.begin_train(group_id, polling_interval=0.05)
    assert poller.result(timeout=30) is None
    assert groups.get_training_status(group_id).status == FaceOperationStatus.SUCCEEDED

    groups.delete(group_id)
    with pytest.raises(ResourceNotFoundError):
        groups.get(group_id)


def test_sdk_large_person_group_lifecycle_with_a_key_and_with_a_token(world: LocalWorld, emulator: str,
                                                                      list_id: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run_large_person_group_lifecycle(admin_client(world, AzureKeyCredential(world.face_key)), list_id)
    monkeypatch.setenv("IDENTITY_ENDPOINT", world.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", world.identity_header)
    run_large_person_group_lifecycle(admin_client(world, ManagedIdentityCredential()), f"{list_id}-token")
    calls = requests.get(f"{emulator}/stats", timeout=5).json()["calls"]
    assert calls["PersonGroupOperations_TrainLargePersonGroup"] == 2


def test_sdk_lifecycle_with_a_key(world: LocalWorld, emulator: str, list_id: str) -> None:
    run_lifecycle(admin_client(world, AzureKeyCredential(world.face_key)), list_id)
    calls = requests.get(f"{emulator}/stats", timeout=5).json()["calls"]
    assert calls["FaceListOperations_TrainLargeFaceList"] == 1
    assert calls["FaceListOperations_GetLargeFaceListTrainingStatus"] >= 2


def test_sdk_lifecycle_with_a_managed_identity_token(world: LocalWorld, emulator: str, list_id: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", world.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", world.identity_header)
    run_lifecycle(admin_client(world, ManagedIdentityCredential()), list_id)


def test_sdk_sees_a_failed_training_as_an_error(world: LocalWorld, emulator: str, list_id: str) -> None:
    client = admin_client(world, AzureKeyCredential(world.face_key))
    client.large_face_list.create(list_id, name="empty")
    with pytest.raises(HttpResponseError) as failed:
        client.large_face_list.begin_train(list_id, polling_interval=0.05).result(timeout=30)
    assert "no persisted face" in str(failed.value)


def test_sdk_reports_auth_failures(world: LocalWorld, emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ClientAuthenticationError):
        admin_client(world, AzureKeyCredential("wrong")).large_face_list.get_large_face_lists()
    monkeypatch.setenv("IDENTITY_ENDPOINT", world.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", world.identity_header)
    no_role = admin_client(world, ManagedIdentityCredential(client_id=NO_ROLE_CLIENT_ID))
    with pytest.raises(HttpResponseError) as forbidden:
        no_role.large_face_list.get_large_face_lists()
    assert forbidden.value.status_code == 403
    assert forbidden.value.error.code == "PermissionDenied"
