"""Every ``test_*`` rule of ``policies/`` is true on the embedded engine (regorus).

One engine holds the whole library with its tests, as ``opa test policies/`` loads it; a module
that fails to compile therefore fails every test, which is what we want to see.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.policies._helpers import RegoTest, first_line, ids, new_engine, rego_tests

TESTS = rego_tests()


@pytest.fixture(scope="module")
def engine() -> Any:
    return new_engine(tests=True)


def test_there_are_tests_for_every_release_package() -> None:
    packages = {t.package.removesuffix("_test") for t in TESTS}
    assert {"attestation_type", "slsa_build_build_service"} <= packages
    assert len(TESTS) >= 20


@pytest.mark.parametrize("rego_test", TESTS, ids=ids(TESTS))
def test_rego_test_rule_is_true(engine: Any, rego_test: RegoTest) -> None:
    try:
        value = engine.eval_rule_as_json(rego_test.rule)
    except RuntimeError as error:  # a compile or evaluation error is a failure, never a pass
        pytest.fail(f"{rego_test.file.name}: {first_line(error)}")
    assert value.strip() == "true", f"{rego_test.rule} is {value.strip()}"
