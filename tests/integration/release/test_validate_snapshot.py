"""Snapshots on the local registry: image-index expansion as Conforma, and shards that merge
into the report one run gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from konflux_supply import oci
from tests.integration.conftest import RegistryService
from tests.integration.release._helpers import (
    minimal_policy,
    new_signer,
    publish_image,
    publish_index,
)
from tests.unit.release._helpers import run_cli

pytestmark = pytest.mark.integration

WHEN = ("--effective-time", "2026-12-01T00:00:00Z", "--allow-past-effective-time")


@pytest.fixture(scope="module")
def published(registry: RegistryService) -> dict[str, Any]:
    signer = new_signer()
    reg, _ = oci.open_registry(registry.ref("snap/x:v1"), options=registry.options)
    try:
        index, children = publish_index(reg, registry.host, "snap/multi", signer=signer)
        singles = [
            publish_image(reg, registry.host, f"snap/app{n}", signer=signer) for n in range(4)
        ]
    finally:
        reg.close()
    return {
        "index": index,
        "children": children,
        "singles": singles,
        "pem": signer.public_key_pem().decode(),
    }


def _validate(published: dict[str, Any], snapshot: dict[str, Any], *extra: str) -> tuple[int, Any]:
    code, out, err = run_cli(
        "validate", "image", "--policy", json.dumps(minimal_policy(published["pem"])),
        "--images", json.dumps(snapshot), "--allow-http-registry", *WHEN, *extra,
    )  # fmt: skip
    assert "Traceback" not in err
    return code, out


def test_an_index_is_validated_with_each_of_its_images(published: dict[str, Any]) -> None:
    index = published["index"]
    snapshot = {"components": [{"name": "multi", "containerImage": index}]}
    code, out = _validate(published, snapshot, "--output", "json")
    assert code == 0, out
    components = json.loads(out)["components"]
    names = {c["name"]: c["containerImage"] for c in components}
    repo = index.partition("@")[0]
    amd, other = (child.partition("@")[2] for child in published["children"])
    assert names == {
        "multi": index,
        f"multi-{amd}-amd64": f"{repo}@{amd}",
        f"multi-{other}-noarch-1": f"{repo}@{other}",
    }
    assert all(c["success"] for c in components)


def test_shards_merge_into_the_single_run_report(published: dict[str, Any], tmp_path: Path) -> None:
    snapshot = {
        "application": "app",
        "components": [
            {"name": f"app{n}", "containerImage": ref} for n, ref in enumerate(published["singles"])
        ],
    }
    single = tmp_path / "single.json"
    code, _ = _validate(published, snapshot, "--show-successes", "--output", f"json={single}")
    assert code == 0
    shards = []
    for index in range(3):
        path = tmp_path / f"shard-{index}.json"
        code, _ = _validate(
            published, snapshot, "--show-successes", "--shard", f"{index}/3",
            "--output", f"json={path}",
        )  # fmt: skip
        assert code == 0
        shards.append(str(path))
    assert sorted(len(json.loads(Path(p).read_text())["components"]) for p in shards) == [1, 1, 2]
    merged = tmp_path / "merged.json"
    code, _, err = run_cli(
        "report", "merge", *shards, "--show-successes", "--output", f"json={merged}"
    )
    assert code == 0, err
    assert json.loads(merged.read_text()) == json.loads(single.read_text())
