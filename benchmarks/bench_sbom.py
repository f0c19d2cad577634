"""SBOM merge and validation at image scale (5,000 components), each in its own process.

Every row runs in a fresh subprocess so its peak RSS is its own. Rows:

* ``parse``: ``sbom.parse`` of the 5,000-component image-scan SBOM (bytes to typed view).
* ``merge``: ``sbom.merge`` of that SBOM with a 2,500-component prefetch SBOM (half of it
  overlapping), inputs already parsed. Baseline: the same merge done with cyclonedx-python-lib
  (``Bom.from_json`` both, add the components whose purl is new, serialise as 1.6).
* ``validate``: ``sbom.validate`` (schema on). Baseline: cyclonedx-python-lib's
  ``JsonStrictValidator`` on the same bytes (jsonschema's ``uniqueItems`` is quadratic).

``--quick`` uses 1,000 components. Figures: CPU seconds per call, wall seconds, peak RSS (MiB)
and the peak RSS before the measured call (input generation and parsing).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks._harness import Result, peak_rss_mib

SERIAL = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"


def _component(kind: str, index: int, source: str) -> dict[str, Any]:
    name = f"{kind}-package-{index}"
    purl = f"pkg:{kind}/{name}@1.{index % 50}.{index}"
    return {
        "bom-ref": f"{purl}?package-id={source}{index:08x}",
        "type": "library",
        "name": name,
        "version": f"1.{index % 50}.{index}",
        "licenses": [{"license": {"id": "MIT" if index % 2 else "Apache-2.0"}}],
        "purl": purl,
        "hashes": [{"alg": "SHA-256", "content": f"{index:064x}"}],
        "externalReferences": [
            {"type": "distribution", "url": f"https://registry.example/{kind}/{name}.tgz"}
        ],
        "properties": [
            {"name": f"{source}:found_by", "value": source},
            {"name": f"{source}:location:0:path", "value": f"/usr/lib/{kind}/{name}"},
        ],
    }


def synthetic(count: int, source: str, start: int = 0, spec: str = "1.6") -> dict[str, Any]:
    """A CycloneDX document with ``count`` components and a chain-shaped dependency graph."""
    kinds = ("npm", "pypi", "golang", "rpm")
    components = [_component(kinds[i % 4], i, source) for i in range(start, start + count)]
    root = {"bom-ref": f"{source}-root", "type": "container", "name": "example/app"}
    refs = [c["bom-ref"] for c in components]
    dependencies = [{"ref": root["bom-ref"], "dependsOn": refs}]
    dependencies += [
        {"ref": ref, "dependsOn": [refs[(i + 1) % len(refs)], refs[(i + 7) % len(refs)]]}
        for i, ref in enumerate(refs)
    ]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "serialNumber": SERIAL,
        "version": 1,
        "metadata": {"timestamp": "2026-11-20T00:00:00Z", "component": root},
        "components": components,
        "dependencies": dependencies,
    }


def _inputs(count: int) -> tuple[bytes, bytes]:
    scan = json.dumps(synthetic(count, "scanner")).encode()
    prefetch = json.dumps(synthetic(count // 2, "prefetch", start=count // 2 + count // 4))
    return scan, prefetch.encode()


def _merge_with_cyclonedx_lib(scan: bytes, prefetch: bytes) -> bytes:
    import warnings

    from cyclonedx.model.bom import Bom
    from cyclonedx.output.json import JsonV1Dot6

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = Bom.from_json(json.loads(scan))  # type: ignore[attr-defined]
        second = Bom.from_json(json.loads(prefetch))  # type: ignore[attr-defined]
        seen = {str(c.purl) for c in first.components if c.purl}
        for component in second.components:
            if str(component.purl) not in seen:
                first.components.add(component)
        return JsonV1Dot6(first).output_as_string().encode()


def _child(task: str, count: int) -> dict[str, Any]:
    """Run one measurement in this process; return its figures."""
    from konflux_supply import sbom

    scan, prefetch = _inputs(count)
    operation: Any
    if task == "parse":

        def operation() -> object:
            return sbom.parse(scan)
    elif task == "merge":
        docs = [sbom.parse_cyclonedx(scan), sbom.parse_cyclonedx(prefetch)]
        when = datetime(2026, 11, 20, tzinfo=UTC)

        def operation() -> object:
            return sbom.merge(docs, serial_number=SERIAL, timestamp=when).to_json()
    elif task == "merge-cyclonedx-lib":

        def operation() -> object:
            return _merge_with_cyclonedx_lib(scan, prefetch)
    elif task == "validate":

        def operation() -> object:
            result = sbom.validate(scan)
            assert result.ok, result.issues[:3]
            return result
    elif task == "validate-cyclonedx-lib":
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator

        validator = JsonStrictValidator(SchemaVersion.V1_6)
        text = scan.decode()

        def operation() -> object:
            error = validator.validate_str(text)
            assert error is None, error
            return error
    else:
        raise SystemExit(f"unknown task {task}")
    before = peak_rss_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    operation()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "rss_before_mib": round(before, 1),
    }


def _measure(task: str, count: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_sbom", task, str(count)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{task} failed: {done.stderr.strip()[-2000:]}")
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def _extra(figures: dict[str, Any], count: int) -> dict[str, Any]:
    return {
        "components": count,
        "wall_s": round(figures["wall_s"], 3),
        "peak_rss_mib": figures["peak_rss_mib"],
        "rss_before_mib": figures["rss_before_mib"],
    }


def run(quick: bool) -> list[Result]:
    count = 1000 if quick else 5000
    rows = [Result(f"parse {count} components", **_as_result(_measure("parse", count), count))]
    for task, what, baseline_label in (
        ("merge", f"merge {count} + {count // 2} components", "from_json+add+output"),
        ("validate", f"validate {count} components (schema)", "JsonStrictValidator"),
    ):
        ours = _measure(task, count)
        theirs = _measure(f"{task}-cyclonedx-lib", count)
        label = f"cyclonedx-python-lib {baseline_label}"
        rows.append(
            Result(
                what,
                ours["cpu_s"],
                baseline=label,
                baseline_per_call=theirs["cpu_s"],
                extra=_extra(ours, count),
            )
        )
        rows.append(Result(f"  baseline: {label}", **_as_result(theirs, count)))
    return rows


def _as_result(figures: dict[str, Any], count: int) -> dict[str, Any]:
    return {"per_call": figures["cpu_s"], "extra": _extra(figures, count)}


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], int(sys.argv[2]))))
