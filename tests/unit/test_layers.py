"""The package map's one-way dependencies hold (DESIGN.md "Package map").

A package imports only packages above it in ``LAYERS``; nobody imports another package's
private (``_``-prefixed) modules; the CLI imports only public library modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "konflux_supply"

LAYERS = [
    "errors",
    "models",
    "provenance",
    "signing",
    "oci",
    "sbom",
    "publish",
    "verify",
    "policy",
    "release",
    "chains",
    "controller",
    "cli",
]


def _top(module_file: Path) -> str:
    rel = module_file.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(module_file: Path) -> list[str]:
    tree = ast.parse(module_file.read_text(), str(module_file))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return [name for name in found if name.startswith("konflux_supply.")]


def test_layers_depend_one_way() -> None:
    problems = []
    for module_file in PACKAGE.rglob("*.py"):
        where = module_file.relative_to(PACKAGE)
        owner = _top(module_file)
        if owner not in LAYERS:
            continue
        for name in _imports(module_file):
            parts = name.split(".")
            target = parts[1]
            if target not in LAYERS or target == owner:
                continue
            if LAYERS.index(target) > LAYERS.index(owner):
                problems.append(
                    f"{module_file.relative_to(PACKAGE)} imports {name} (a lower layer)"
                )
            if any(part.startswith("_") for part in parts[2:]):
                problems.append(f"{where} imports private {name}")
    assert not problems, "\n".join(problems)


def test_every_top_level_module_has_a_layer() -> None:
    tops = {
        _top(path) for path in PACKAGE.rglob("*.py") if _top(path) not in {"__init__", "__main__"}
    }
    assert tops <= set(LAYERS), f"add {sorted(tops - set(LAYERS))} to LAYERS and DESIGN's map"
