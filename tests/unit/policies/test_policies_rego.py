"""Every ``test_*`` rule of ``policies/`` is true on the embedded engine (regorus).

One engine holds the whole library with its tests, as ``opa test policies/`` loads it; a module
that fails to compile therefore fails every test, which is what we want to see.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.policies._helpers import (
    POLICIES,
    REPO,
    RegoTest,
    first_line,
    ids,
    new_engine,
    rego_tests,
    release_packages,
)

TESTS = rego_tests()


@pytest.fixture(scope="module")
def engine() -> Any:
    return new_engine(tests=True)


def test_there_are_tests_for_every_release_package() -> None:
    tested = {t.package.removesuffix("_test") for t in TESTS}
    assert set(release_packages()) <= tested
    assert len(TESTS) >= 150


@pytest.mark.parametrize("rego_test", TESTS, ids=ids(TESTS))
def test_rego_test_rule_is_true(engine: Any, rego_test: RegoTest) -> None:
    try:
        value = engine.eval_rule_as_json(rego_test.rule)
    except RuntimeError as error:  # a compile or evaluation error is a failure, never a pass
        pytest.fail(f"{rego_test.file.name}: {first_line(error)}")
    assert value.strip() == "true", f"{rego_test.rule} is {value.strip()}"


def _opa() -> Path:
    tools = os.environ.get("KONFLUX_SUPPLY_TOOLS")
    opa = Path(tools) / "opa" if tools else REPO / ".tools" / "bin" / "opa"
    if not opa.is_file():
        pytest.skip(f"opa not found at {opa} (set KONFLUX_SUPPLY_TOOLS or run scripts/build-opa)")
    return opa


def test_opa_runs_the_same_tests_and_agrees(engine: Any) -> None:
    done = subprocess.run(
        [str(_opa()), "test", str(POLICIES), "--format", "json"], capture_output=True, text=True
    )
    rows = json.loads(done.stdout)
    opa = {
        f"{r['package'].removeprefix('data.')}.{r['name']}": not (r.get("fail") or r.get("error"))
        for r in rows
    }
    ours = {}
    for rego_test in TESTS:
        try:
            ours[f"{rego_test.package}.{rego_test.name}"] = (
                engine.eval_rule_as_json(rego_test.rule).strip() == "true"
            )
        except RuntimeError:
            ours[f"{rego_test.package}.{rego_test.name}"] = False
    assert opa == ours
    assert all(opa.values()), [name for name, ok in opa.items() if not ok]


def test_opa_strict_check_and_format() -> None:
    opa = str(_opa())
    check = subprocess.run(
        [opa, "check", "--strict", str(POLICIES)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([opa, "fmt", "--list", str(POLICIES)], capture_output=True, text=True)
    assert fmt.stdout.strip() == "", f"not opa-formatted: {fmt.stdout}"


def _with_import_aliases(text: str) -> str:
    """The module with `import data.supply.lib.<m>` (time `as t`) instead of full paths."""
    modules = sorted(set(re.findall(r"data\.supply\.lib\.(\w+)\.", text)))
    imports = ""
    for module in modules:
        alias = "t" if module == "time" else module
        imports += f"import data.supply.lib.{module}" + (" as t" if module == "time" else "") + "\n"
        text = text.replace(f"data.supply.lib.{module}.", f"{alias}.")
    return text.replace("import rego.v1\n", "import rego.v1\n\n" + imports, 1)


@pytest.mark.xfail(
    strict=True,
    reason="regorus 0.13: two modules that alias the same package under one name (`as t`) lose "
    "the test's `with data.config...` override; why policies/ uses full data.supply.lib paths",
)
def test_regorus_keeps_with_overrides_through_shared_import_aliases() -> None:
    import regorus

    engine = regorus.Engine()
    for path in sorted(POLICIES.rglob("*.rego")):
        text = path.read_text()
        if path.name in {"trusted.rego", "trusted_task.rego"}:
            text = _with_import_aliases(text)
        engine.add_policy(str(path.relative_to(REPO)), text)
    rule = "data.trusted_task_test.test_expiring_version_warns"
    assert engine.eval_rule_as_json(rule).strip() == "true"
