"""The package map's one-way dependencies hold (DESIGN.md "Package map", ADR 0002, 0004).

A package imports only packages above it in ``LAYERS``; nobody imports another package's
private (``_``-prefixed) modules, so the CLI imports only public library modules; relative
imports are resolved before they are judged; no package imports itself in a circle.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit._imports import PACKAGE, cycle_problems, layer_problems

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


def test_layers_depend_one_way() -> None:
    problems = layer_problems(PACKAGE, LAYERS)
    assert not problems, "\n".join(problems)


#: Cycles known when this test was written, each with its reason; a listed cycle that is gone
#: must be taken off the list (so the list cannot hide a new one for long).
KNOWN_CYCLES = {
    # Report.from_json imports its reader inside the method; the reader imports the report
    # classes. For the policy package's owners to untangle (e.g. the reader as the report's
    # own private half, or from_json as a module function).
    "konflux_supply.policy._report_reader -> konflux_supply.policy.report",
}


def test_no_package_imports_itself_in_a_circle() -> None:
    found = set(cycle_problems(PACKAGE))
    assert not found - KNOWN_CYCLES, "\n".join(sorted(found - KNOWN_CYCLES))
    assert not KNOWN_CYCLES - found, f"no longer a cycle, remove: {KNOWN_CYCLES - found}"


def test_every_top_level_module_has_a_layer() -> None:
    tops = {
        _top(path) for path in PACKAGE.rglob("*.py") if _top(path) not in {"__init__", "__main__"}
    }
    assert tops <= set(LAYERS), f"add {sorted(tops - set(LAYERS))} to LAYERS and DESIGN's map"


def _package(root: Path, files: dict[str, str]) -> Path:
    package = root / "konflux_supply"
    for name, text in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_a_relative_upward_import_is_caught(tmp_path: Path) -> None:
    """``from ..cli import main`` inside ``sbom/`` is the same upward import as the absolute
    one: it must not pass because it is spelled relatively."""
    package = _package(
        tmp_path,
        {
            "sbom/__init__.py": "from ._read import parse\n",
            "sbom/_read.py": "from ..cli import main\nfrom .. import cli\n\nparse = main\n",
            "cli/__init__.py": "from ._main import main\n",
            "cli/_main.py": "def main() -> None: ...\n",
        },
    )
    problems = layer_problems(package, LAYERS)
    assert len(problems) == 2
    assert all("konflux_supply.sbom._read" in p and "a lower layer" in p for p in problems)
    private = _package(tmp_path / "p", {"cli/x.py": "from konflux_supply.sbom._read import y\n"})
    (private / "sbom").mkdir()
    (private / "sbom" / "_read.py").write_text("y = 1\n")
    assert layer_problems(private, LAYERS) == [
        "konflux_supply.cli.x (line 1) imports konflux_supply.sbom._read: "
        "a private module of another package"
    ]


def test_a_cycle_inside_a_package_is_caught(tmp_path: Path) -> None:
    """``signing/__init__`` importing ``blob``, which imports ``signing`` back, is a cycle;
    a ``TYPE_CHECKING`` import is not (it never runs), a function-level one is."""
    package = _package(
        tmp_path,
        {
            "signing/__init__.py": "from . import blob\n\nSigner = object\n",
            "signing/blob.py": "from konflux_supply.signing import Signer\n",
            "oci/registry.py": "def open_() -> None:\n    from konflux_supply.oci import _http\n",
            "oci/_http.py": "from .registry import open_\n",
            "oci/__init__.py": "",
            "verify/a.py": (
                "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from . import b\n"
            ),
            "verify/b.py": "from . import a\n",
        },
    )
    assert cycle_problems(package) == [
        "konflux_supply.oci._http -> konflux_supply.oci.registry",
        "konflux_supply.signing -> konflux_supply.signing.blob",
    ]
