"""Telemetry to Application Insights through the OpenTelemetry distro, in Azure only.

With `APPLICATIONINSIGHTS_CONNECTION_STRING` set (infra/main.bicep sets it), the orchestrator's logs and each Face
call (a dependency span) are exported with the app's own identity: the component accepts Entra ID tokens only.
Storage calls are left untraced: an idle app queries the table on every tick, and tracing that would bill
telemetry around the clock for nothing. Without the setting nothing is configured, nothing is imported and nothing
leaves the machine.
"""

from __future__ import annotations

import re

from azure.core.credentials import TokenCredential

LOGGER_NAME = "orchestrator"
_HTTP_INSTRUMENTATIONS = ("azure_sdk", "requests", "urllib", "urllib3")


def configure(connection_string: str | None, credential: TokenCredential, face_endpoint: str) -> bool:
    """Start exporting when a connection string is given; True if it did. Call once per process."""
    if not connection_string:
        return False
    # Imported here: the distro and its instrumentations take a while to import, for nothing when unused.
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    configure_azure_monitor(
        connection_string=connection_string,
        credential=credential,
        logger_name=LOGGER_NAME,
        # A few Face calls a minute: keep each (the default samples at most 5 traces a second, and drops early ones).
        sampling_ratio=1.0,
        instrumentation_options={name: {"enabled": False} for name in _HTTP_INSTRUMENTATIONS},
    )
    # Every URL that is not the Face endpoint is excluded: storage, and the identity endpoint's token calls.
    RequestsInstrumentor().instrument(excluded_urls=rf"^(?!{re.escape(face_endpoint)}/)")
    return True
