"""The bytes of every statement made from the Chains corpus are exactly the pinned ones (see
:mod:`tests.unit.provenance.pinned`, which also regenerates the pins)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.provenance.pinned import chains_cases, load_pins, pin

pytestmark = pytest.mark.conformance

PINS = load_pins()["chains"]


def test_every_chains_case_is_pinned(peers: Path) -> None:
    cases = list(chains_cases(peers / "chains"))
    assert sorted(name for name, _ in cases) == sorted(PINS)
    mismatched = [name for name, make in cases if pin(make) != PINS[name]]
    assert mismatched == []
