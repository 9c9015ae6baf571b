"""Every implementation of the shell's ports declares its port and defines each of its members itself, with the
port's parameters: a member it lacked would otherwise be the port's empty stub. Pure: nothing is called."""

from __future__ import annotations

import inspect

import pytest

from bench.live import CountingFace
from bench.simulation import MemoryEvents, MemoryStore, SimFace
from orchestrator.event_queue import EventQueue
from orchestrator.face_client import FaceClient
from orchestrator.ports import EventSink, FaceApi, Store
from orchestrator.store import TrainingStore

IMPLEMENTATIONS = [(Store, TrainingStore), (Store, MemoryStore), (FaceApi, FaceClient), (FaceApi, SimFace),
                   (FaceApi, CountingFace), (EventSink, EventQueue), (EventSink, MemoryEvents)]


def members(port: type) -> list[str]:
    return [name for name, value in vars(port).items() if inspect.isfunction(value) and not name.startswith("_")]


def unmet(port: type, implementation: type) -> list[str]:
    """What the implementation does not do as its port says: undeclared, or a member missing or shaped otherwise."""
    if port not in implementation.__mro__:
        return [f"{implementation.__name__} does not declare {port.__name__}"]
    problems = []
    for name in members(port):
        own = next(vars(cls)[name] for cls in implementation.__mro__ if name in vars(cls))
        if own is vars(port)[name]:
            problems.append(f"{name} is missing")
        elif list(inspect.signature(own).parameters) != list(inspect.signature(vars(port)[name]).parameters):
            problems.append(f"{name} takes other parameters")
    return problems


@pytest.mark.parametrize("port, implementation", IMPLEMENTATIONS, ids=lambda c: c.__name__)
def test_each_implementation_defines_every_member_of_its_port(port: type, implementation: type) -> None:
    assert unmet(port, implementation) == []


def test_the_check_sees_a_member_left_to_the_port_or_shaped_otherwise() -> None:
    class Forgetful(EventSink):
        pass

    class Different(EventSink):
        def publish(self, message) -> None: ...

    assert unmet(EventSink, Forgetful) == ["publish is missing"]
    assert unmet(EventSink, Different) == ["publish takes other parameters"]
    assert unmet(EventSink, MemoryStore) == ["MemoryStore does not declare EventSink"]
