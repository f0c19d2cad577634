"""Run the benchmarks: ``python -m benchmarks [NAME ...] [--quick]``."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("-")]
    available = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    unknown = set(names) - set(available)
    if unknown:
        print(f"unknown benchmark(s): {sorted(unknown)}; available: {available}", file=sys.stderr)
        return 2
    rows = []
    for name in names or available:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== {name}", flush=True)
        for result in module.run(quick):
            row = result.as_dict()
            rows.append({"benchmark": name, **row})
            ratio = row["ratio_to_baseline"]
            print(
                f"  {row['name']:<58} {row['per_call_us']:>12.1f} us/call "
                f"{row['per_second_per_core']:>12.1f}/s"
                + (f"   {ratio:.2f}x {row['baseline']}" if ratio is not None else ""),
                flush=True,
            )
            for key, value in row.items():
                if key not in {
                    "name",
                    "per_call_us",
                    "per_second_per_core",
                    "baseline",
                    "baseline_per_call_us",
                    "ratio_to_baseline",
                }:
                    print(f"      {key}: {value}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out / f"{stamp}.json").write_text(
        json.dumps(
            {"python": platform.python_version(), "machine": platform.machine(), "results": rows},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
