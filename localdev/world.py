"""Start, health-check and stop the local Azure world: Azurite, the Face emulator and the identity endpoint.

One launcher serves the tests (free ports, in-memory storage) and `make dev` (fixed ports). Each service runs
in its own process group, so stopping it also ends whatever it spawned (Azurite is node behind a shell shim).
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import certifi

from .identity_endpoint import JWKS_PATH, TOKEN_PATH
from .tls import localhost_certificate

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
# The well-known development account every Azure Storage emulator uses; it is public by design.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
HEALTH_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Ports:
    face_http: int
    face_https: int
    identity: int
    blob: int
    queue: int
    table: int

    @classmethod
    def free(cls) -> "Ports":
        return cls(*(free_port() for _ in range(6)))

    @classmethod
    def default(cls) -> "Ports":
        """Azurite's own defaults, so tools such as Storage Explorer find it; the rest beside them."""
        return cls(face_http=10080, face_https=10443, identity=10081, blob=10000, queue=10001, table=10002)


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    ready: Callable[[], bool]
    log_file: Path
    cwd: Path = REPO_ROOT
    env: dict[str, str] | None = None
    process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=_terminate_with_parent)
        log.close()

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_file}:\n"
                                   f"{self.log_file.read_text(errors='replace')[-2000:]}")
            if self.ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not healthy within {HEALTH_TIMEOUT_SECONDS:.0f} s; see {self.log_file}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for signum, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


@dataclass
class LocalWorld:
    """The three stand-ins, with the settings a client needs to reach them."""

    state_dir: Path
    ports: Ports = field(default_factory=Ports.free)
    face_key: str = field(default_factory=lambda: secrets.token_hex(16))
    identity_header: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    time_scale: float = 1.0
    face_options: list[str] = field(default_factory=list)
    identity_options: list[str] = field(default_factory=list)
    in_memory_storage: bool = True
    # Azurite's `--debug` log: one line per request served (the benchmark counts storage transactions by it).
    azurite_debug_log: Path | None = None
    processes: list[ManagedProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.certificate = localhost_certificate(self.state_dir / "tls")
        self.trust_bundle = self._write_trust_bundle()

    def _write_trust_bundle(self) -> Path:
        """The local CA added to the CAs already trusted, so that pointing REQUESTS_CA_BUNDLE at it keeps every
        other HTTPS host (a corporate proxy's, PyPI's) working."""
        base = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        base_file = Path(base) if base and Path(base).is_file() else Path(certifi.where())
        bundle = self.state_dir / "tls" / "ca-bundle.pem"
        bundle.write_bytes(self.certificate.ca_file.read_bytes() + b"\n" + base_file.read_bytes())
        return bundle

    @property
    def face_endpoint(self) -> str:
        """HTTPS, as in Azure: SDKs refuse bearer tokens over plain HTTP."""
        return f"https://localhost:{self.ports.face_https}"

    @property
    def face_http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports.face_http}"

    @property
    def emulator_control(self) -> str:
        return f"{self.face_http_endpoint}/_emulator"

    @property
    def identity_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports.identity}{TOKEN_PATH}"

    @property
    def storage_connection_string(self) -> str:
        p = self.ports
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint=http://127.0.0.1:{p.blob}/{AZURITE_ACCOUNT};"
                f"QueueEndpoint=http://127.0.0.1:{p.queue}/{AZURITE_ACCOUNT};"
                f"TableEndpoint=http://127.0.0.1:{p.table}/{AZURITE_ACCOUNT};")

    def settings(self) -> dict[str, str]:
        """What a client of the world needs, as app settings / environment variables."""
        return {
            "FACE_ENDPOINT": self.face_endpoint,
            "FACE_API_KEY": self.face_key,
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "AzureWebJobsStorage": self.storage_connection_string,
            "REQUESTS_CA_BUNDLE": str(self.trust_bundle),
            "FACE_EMULATOR_CONTROL": self.emulator_control,
        }

    def start(self, azurite: bool = True, face: bool = True, identity: bool = True) -> "LocalWorld":
        python = sys.executable
        if identity:
            self.processes.append(ManagedProcess(
                "identity endpoint",
                # --option=value: a random secret may start with "-", which argparse would take for an option.
                [python, "-m", "localdev.identity_endpoint", "--port", str(self.ports.identity),
                 f"--header={self.identity_header}", f"--key-file={self.state_dir / 'identity-signing-key.json'}",
                 *self.identity_options],
                lambda: http_ready(f"http://127.0.0.1:{self.ports.identity}/health"),
                self.state_dir / "identity.log",
            ))
        if face:
            self.processes.append(ManagedProcess(
                "Face emulator",
                [python, "-m", "localdev.face_emulator", "--port", str(self.ports.face_http),
                 "--tls-port", str(self.ports.face_https), "--tls-dir", str(self.state_dir / "tls"),
                 f"--key={self.face_key}", "--time-scale", str(self.time_scale),
                 "--jwks-url", f"http://127.0.0.1:{self.ports.identity}{JWKS_PATH}", *self.face_options],
                lambda: http_ready(f"{self.emulator_control}/health"),
                self.state_dir / "face-emulator.log",
            ))
        if azurite:
            self.processes.append(self._azurite())
        try:
            for process in self.processes:
                process.start()
            deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
            for process in self.processes:
                process.wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _azurite(self) -> ManagedProcess:
        if not AZURITE_BIN.exists():
            raise RuntimeError(f"Azurite is not installed at {AZURITE_BIN}: run `make setup`")
        workspace = self.state_dir / "azurite"
        if self.in_memory_storage:
            shutil.rmtree(workspace, ignore_errors=True)
        workspace.mkdir(exist_ok=True)
        p = self.ports
        argv = [str(AZURITE_BIN), "--silent", "--skipApiVersionCheck", "--disableProductStyleUrl", "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1",
                "--tableHost", "127.0.0.1", "--blobPort", str(p.blob), "--queuePort", str(p.queue),
                "--tablePort", str(p.table)]
        # Azurite refuses --location with --inMemoryPersistence; the workspace is then only its working folder.
        argv += ["--inMemoryPersistence"] if self.in_memory_storage else ["--location", str(workspace)]
        if self.azurite_debug_log is not None:
            argv += ["--debug", str(self.azurite_debug_log)]
        return ManagedProcess("Azurite", argv, lambda: all(_listening(port) for port in (p.blob, p.queue, p.table)),
                              self.state_dir / "azurite.log", cwd=workspace)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def __enter__(self) -> "LocalWorld":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _terminate_with_parent() -> None:
    """Runs in the child before exec: if the launcher dies without stopping us (SIGKILL), Linux sends SIGTERM,
    so a killed `make dev` or test never leaves its world running."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def http_ready(url: str, also_ready: tuple[int, ...] = ()) -> bool:
    """The server answers 200 (or one of `also_ready`, e.g. 401 from an endpoint that wants its key)."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except urllib.error.HTTPError as error:
        return error.code in also_ready
    except OSError:
        return False


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
