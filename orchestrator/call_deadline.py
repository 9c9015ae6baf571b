"""A whole HTTP call's deadline, which `requests` does not have: its timeouts bound each wait for data, so a peer
that sends one byte of its headers before each wait runs out holds a call for as long as it likes, and with it a
step past its claim (machine.Policy.claim_seconds), when another instance may take the container over.

A watchdog thread shuts the call's socket when the deadline passes. The blocked read then fails, `requests` raises
as for a dropped connection, and the caller sees that the watchdog fired. The socket is found through the
connection classes of the session's pools, which note themselves for the watchdog armed on their thread.
"""

from __future__ import annotations

import socket
import threading

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection

_armed = threading.local()


class Watchdog:
    """One call's deadline. `fired` says whether it cut the call."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._connection: HTTPConnection | None = None
        self._over = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> "Watchdog":
        _armed.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._over = True
        self._timer.cancel()
        _armed.watchdog = None

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection

    def _fire(self) -> None:
        with self._lock:
            sock = None if self._over or self._connection is None else self._connection.sock
            if sock is None:
                return  # over, or still connecting: the connect timeout bounds that
            self.fired = True
            try:
                # The plain socket's shutdown, even under TLS: it wakes the blocked read without tearing the TLS
                # object out from under the thread that is reading.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


def session_with_deadlines(session: requests.Session | None = None) -> requests.Session:
    """`session` (a new one if None) with adapters whose connections a `Watchdog` can cut."""
    session = session or requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, _Adapter())
    return session


def _watched(base: type[HTTPConnection]) -> type[HTTPConnection]:
    class Watched(base):  # type: ignore[valid-type, misc]
        def request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            watchdog = getattr(_armed, "watchdog", None)
            if watchdog is not None:
                watchdog.watch(self)
            return super().request(*args, **kwargs)

    Watched.__name__ = f"Watched{base.__name__}"
    return Watched


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _watched(HTTPConnection)


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _watched(HTTPSConnection)


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
