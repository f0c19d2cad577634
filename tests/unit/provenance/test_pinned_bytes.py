"""The bytes of every statement made from our fixtures are exactly the pinned ones (see
:mod:`tests.unit.provenance.pinned`, which also regenerates the pins)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from konflux_supply import provenance

from .pinned import load_pins, own_cases, pin

PINS = load_pins()["own"]
CASES = list(own_cases())


def test_every_case_is_pinned() -> None:
    assert sorted(name for name, _ in CASES) == sorted(PINS)


@pytest.mark.parametrize(("name", "make"), CASES, ids=[name for name, _ in CASES])
def test_bytes_are_pinned(name: str, make: Callable[[], provenance.Statement]) -> None:
    assert pin(make) == PINS[name]
