"""Settings are read in one place, with the README's defaults, and each bad one fails start with its name."""

from __future__ import annotations

import pytest

from orchestrator.settings import DEFAULTS, Settings, SettingsError

BASE = {"FACE_ENDPOINT": "https://my-face.cognitiveservices.azure.com", "AzureWebJobsStorage": "UseDevelopmentStorage=true"}


def test_defaults() -> None:
    settings = Settings.from_env(BASE)
    assert settings.face_api_version == "v1.2"
    assert (settings.training_requests_queue, settings.training_events_queue, settings.trainings_table) == (
        "training-requests", "training-events", "trainings")
    assert settings.poll_schedule == DEFAULTS["POLL_SCHEDULE"] == "*/5 * * * * *"
    assert settings.settle_seconds == 0 and settings.max_training_minutes == 60
    assert settings.face_api_key is None


@pytest.mark.parametrize("schedule, pacing_seconds", [("*/5 * * * * *", 4), ("0/10 * * * * *", 9),
                                                      ("*/1 * * * * *", 0), ("0 */5 * * * *", 0),
                                                      ("*/5 * * * *", 0)])
def test_a_tick_paces_itself_only_by_an_every_n_seconds_schedule(schedule: str, pacing_seconds: float) -> None:
    """Up to a second before the next occurrence; a schedule whose period is not plain gets one pass a tick."""
    assert Settings.from_env({**BASE, "POLL_SCHEDULE": schedule}).poll_pacing_seconds == pacing_seconds


def test_identity_based_storage_is_accepted() -> None:
    settings = Settings.from_env({"FACE_ENDPOINT": BASE["FACE_ENDPOINT"],
                                  "AzureWebJobsStorage__queueServiceUri": "https://st.queue.core.windows.net",
                                  "AzureWebJobsStorage__tableServiceUri": "https://st.table.core.windows.net",
                                  "AzureWebJobsStorage__clientId": "abc"})
    assert settings.storage.connection_string is None and settings.storage.client_id == "abc"


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:5000", "http://localhost:5000", "http://[::1]:5000",
                                      "https://localhost:10443/"])
def test_plain_http_is_allowed_for_loopback_only(endpoint: str) -> None:
    assert Settings.from_env({**BASE, "FACE_ENDPOINT": endpoint}).face_endpoint == endpoint.rstrip("/")


@pytest.mark.parametrize("override, mentions", [
    ({"FACE_ENDPOINT": ""}, "FACE_ENDPOINT is not set"),
    ({"FACE_ENDPOINT": "http://my-face.cognitiveservices.azure.com"}, "use https"),
    ({"FACE_ENDPOINT": "http://10.0.0.5"}, "use https"),
    ({"FACE_ENDPOINT": "ftp://x"}, "not an http(s) URL"),
    ({"FACE_ENDPOINT": "https://x.example/face/v1.2"}, "without a path"),
    ({"FACE_API_VERSION": "v2.0"}, "FACE_API_VERSION"),
    ({"POLL_SCHEDULE": "every 5 seconds"}, "POLL_SCHEDULE"),
    ({"POLL_SCHEDULE": "* * *"}, "POLL_SCHEDULE"),
    ({"SETTLE_SECONDS": "-1"}, "SETTLE_SECONDS"),
    ({"SETTLE_SECONDS": "soon"}, "SETTLE_SECONDS"),
    ({"MAX_TRAINING_MINUTES": "0"}, "MAX_TRAINING_MINUTES"),
    ({"MAX_RETRY_WAIT_SECONDS": "0"}, "MAX_RETRY_WAIT_SECONDS"),
    ({"MAX_RETRY_WAIT_SECONDS": "86400"}, "MAX_RETRY_WAIT_SECONDS"),
    ({"TRAINING_REQUESTS_QUEUE": "Training_Requests"}, "TRAINING_REQUESTS_QUEUE"),
    ({"TRAINING_EVENTS_QUEUE": "x" * 57}, "TRAINING_EVENTS_QUEUE"),
    ({"TRAININGS_TABLE": "1table"}, "TRAININGS_TABLE"),
    ({"AzureWebJobsStorage": ""}, "Storage is not configured"),
])
def test_each_bad_setting_stops_start_with_its_name(override: dict, mentions: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({**BASE, **override})
    assert mentions in str(error.value)


def test_the_app_refuses_at_start_a_connection_string_the_storage_sdk_cannot_read(monkeypatch) -> None:
    from orchestrator import runtime

    for name, value in {**BASE, "AzureWebJobsStorage": "DefaultEndpointsProtocol=https"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match="AzureWebJobsStorage is not a connection string the storage SDK can "
                                            "read: Connection string missing required connection details"):
        runtime.check_settings()
