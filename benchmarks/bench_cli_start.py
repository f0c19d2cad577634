"""Cold start of the CLI: wall time of ``python -m konflux_supply …`` in a fresh process.

Each row is the median of several runs of one command that does almost no work of its own,
so what is measured is interpreter start plus imports (issue 10, item 17; target: every
command under **0.3 s**). The baseline is a bare click program (``import click``), the floor
of any click CLI. Rows:

* ``--help`` and ``COMMAND --help`` — the command list comes from a table, so only the one
  command module asked for is imported (``tests/unit/cli/test_lazy_commands.py`` checks which);
* ``verify`` of a digest in a layout directory that does not exist — the whole verify path
  is imported (registry, models, signing) and it exits 2 at once;
* ``provenance`` of the smallest fixture TaskRun — the provenance formatters and pydantic.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import Result

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 0.3


def _wall(argv: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(quick: bool) -> list[Result]:
    runs = 3 if quick else 11
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COSIGN_PASSWORD": ""}
    cli = [sys.executable, "-m", "konflux_supply"]
    floor = _wall([sys.executable, "-c", "import click"], runs, env)
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "k.pub"
        subprocess.run(
            [*cli, "generate-key-pair", "--output-key-prefix", str(Path(tmp) / "k")],
            env=env,
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        commands = {
            "--help": ["--help"],
            "verify --help": ["verify", "--help"],
            "sign-blob --help": ["sign-blob", "--help"],
            "sbom validate --help": ["sbom", "validate", "--help"],
            "policy --help": ["policy", "--help"],
            "verify (missing layout: imports, then exit 2)": [
                "verify", "--key", str(key), f"oci:{tmp}/none@sha256:{'0' * 64}",
            ],
            "provenance (smallest fixture)": [
                "provenance", "--format", "in-toto",
                str(ROOT / "fixtures/provenance/runs/taskrun-notify.yaml"),
            ],
        }  # fmt: skip
        results = []
        for name, args in commands.items():
            wall = _wall([*cli, *args], runs, env)
            results.append(
                Result(
                    f"cold start: {name}",
                    wall,
                    baseline="python -c 'import click'",
                    baseline_per_call=floor,
                    extra={"target_seconds": TARGET_SECONDS, "under_target": wall < TARGET_SECONDS},
                )
            )
    return results
