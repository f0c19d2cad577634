"""The Conforma peer corpus: every EnterpriseContractPolicy and Snapshot in it reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from konflux_supply.errors import InputError
from konflux_supply.models.document import parse_document
from konflux_supply.policy import EnterpriseContractPolicy
from konflux_supply.release import Snapshot, load_snapshot

pytestmark = pytest.mark.conformance

POLICY_FILES = [
    "cli/acceptance/examples/happy_config.json",
    "cli/acceptance/examples/happy_config.yaml",
    "cli/acceptance/examples/happy_config_with_public_key.yaml",
    "cli/acceptance/examples/multiple_sources_config.yaml",
    "cli/acceptance/examples/sad_config.yaml",
    "crds/config/samples/appstudio.redhat.com_v1alpha1_enterprisecontractpolicy.yaml",
    "crds/docs/modules/ROOT/examples/k8s-example.yaml",
    "crds/docs/modules/ROOT/examples/spec-example.json",
]
SNAPSHOT_FILES = [
    "cli/cmd/validate/test_application_snapshot.json",
    "cli/internal/applicationsnapshot/test_snapshot.json",
]


def _conforma(peers: Path) -> Path:
    root = peers / "conforma"
    if not root.is_dir():
        pytest.skip(f"no Conforma corpus under {peers}")
    return root


@pytest.mark.parametrize("name", POLICY_FILES)
def test_corpus_policies(peers: Path, name: str) -> None:
    path = _conforma(peers) / name
    ecp = EnterpriseContractPolicy.from_file(path)
    document = parse_document(path.read_bytes(), source=name)
    spec = document.get("spec", document)
    assert ecp.to_dict() == spec
    assert all(source.policy for source in ecp.sources)
    assert EnterpriseContractPolicy.from_dict(ecp.to_dict()) == ecp


def test_console_example_fields(peers: Path) -> None:
    """The OpenShift console sample wraps an ECP as text: the wrapper is refused (wrong kind),
    the ECP inside it reads."""
    path = _conforma(peers) / "crds/config/crd/openshift_console_example.yaml"
    with pytest.raises(InputError, match="expected kind EnterpriseContractPolicy"):
        EnterpriseContractPolicy.from_file(path)
    wrapper = parse_document(path.read_bytes(), source=str(path))
    ecp = EnterpriseContractPolicy.from_text(wrapper["spec"]["yaml"])
    assert ecp.public_key == "k8s://openshift-pipelines/public-key"
    assert ecp.configuration is not None
    assert "@slsa2" in ecp.configuration.include
    assert ecp.sources[0].rule_data is not None
    assert "allowed_registry_prefixes" in ecp.sources[0].rule_data


@pytest.mark.parametrize("name", SNAPSHOT_FILES)
def test_corpus_snapshots(peers: Path, name: str) -> None:
    path = _conforma(peers) / name
    snapshot = Snapshot.from_file(path)
    document = json.loads(path.read_text())
    assert [c.name for c in snapshot.components] == [c["name"] for c in document["components"]]
    assert load_snapshot(images=[str(path)]) == snapshot
    assert Snapshot.from_dict(snapshot.to_dict()) == snapshot


def _feature_blocks(feature: str) -> list[str]:
    """The doc strings (``\"\"\"`` blocks) of the feature file."""
    return re.findall(r'"""\n(.*?)\n\s*"""', feature, re.S)


def test_feature_file_policies_and_snapshots(peers: Path) -> None:
    """Every inline policy and image list in validate_image.feature is read (placeholders such
    as ``${REGISTRY}`` filled with plausible values), and refused ones are refused for a reason
    Conforma would also refuse."""
    feature = (_conforma(peers) / "cli/features/validate_image.feature").read_text()
    read = {"policy": 0, "snapshot": 0}
    for block in _feature_blocks(feature):
        text = block.replace("${REGISTRY}", "registry.io").replace("${GITHOST}", "git.io")
        text = re.sub(r"sha256:\$\{[^}]*\}", "sha256:" + "0" * 64, text)
        text = re.sub(r"\$\{[^}]*\}", "x", text)
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            continue  # not a JSON document (e.g. a key)
        if not isinstance(document, dict):
            continue
        if "sources" in document:
            ecp = EnterpriseContractPolicy.from_dict(document, source="feature")
            assert ecp.to_dict() == document
            read["policy"] += 1
        elif "components" in document:
            Snapshot.from_dict(document, source="feature")
            read["snapshot"] += 1
    assert read["policy"] >= 20, read
    assert read["snapshot"] >= 2, read


def test_feature_policy_typo_is_refused() -> None:
    with pytest.raises(InputError, match="unknown field"):
        EnterpriseContractPolicy.from_dict({"sources": [{"policy": ["p"], "configs": {}}]})


def _refusal(spec: object, name: str) -> InputError | None:
    try:
        EnterpriseContractPolicy.from_dict(spec, source=name)
    except InputError as error:
        return error
    return None


def _fill(text: str) -> str:
    """Conforma's snapshot placeholders (``${REGISTRY}``, digests) with plausible values."""
    text = re.sub(r"sha256:\$\{[^}]*\}", "sha256:" + "0" * 64, text)
    return re.sub(r"\$\{[^}]*\}", "x", text)


def _documents(root: Path) -> list[tuple[str, object]]:
    """Every JSON/YAML document of the corpus, plus every JSON output in its .snap files."""
    found: list[tuple[str, object]] = []
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.suffix in (".json", ".yaml", ".yml"):
            try:
                found.append((name, parse_document(path.read_bytes(), source=name)))
            except InputError:
                continue  # e.g. broken_input.json, broken on purpose
        elif path.suffix == ".snap":
            for index, block in enumerate(re.split(r"\n\[[^\n]*\]\n", path.read_text())):
                body = _fill(block.rsplit("\n---", 1)[0].strip())
                if body.startswith("{"):
                    try:
                        found.append((f"{name}#{index}", json.loads(body)))
                    except json.JSONDecodeError:
                        continue
    return found


def test_every_policy_and_snapshot_in_the_corpus(peers: Path) -> None:
    """A sweep: bare specs, resources, the ``policy``/``snapshot`` echoed in Conforma's reports
    and the ``policy_spec``/``snapshot`` of captured policy inputs all read, and round-trip."""
    root = _conforma(peers)
    policies = snapshots = 0
    for name, document in _documents(root):
        if not isinstance(document, dict):
            continue
        ecps = []
        if document.get("kind") == "EnterpriseContractPolicy" or "sources" in document:
            ecps.append(document)
        for key in ("policy", "policy_spec"):
            if isinstance(document.get(key), dict):
                ecps.append(document[key])
        snaps = []
        if "components" in document and "success" not in document:
            snaps.append(document)
        if isinstance(document.get("snapshot"), dict):
            snaps.append(document["snapshot"])
        for spec in ecps:
            if name.startswith("cli/internal/") and "application_snapshot_image" in name:
                # Go unit-test inputs built in code, never checked against the CRD (no
                # sources, no policy URLs, "sha256:abc123"): refused, with a field path.
                refused = _refusal(spec, name)
                assert refused is None or refused.field, name
                continue
            ecp = EnterpriseContractPolicy.from_dict(spec, source=name)
            assert EnterpriseContractPolicy.from_dict(ecp.to_dict()) == ecp, name
            policies += 1
        for spec in snaps:
            snapshot = Snapshot.from_dict(spec, source=name)
            assert Snapshot.from_dict(snapshot.to_dict()) == snapshot, name
            snapshots += 1
    print(f"{policies} policies, {snapshots} snapshots")
    assert policies >= 40, policies
    assert snapshots >= 3, snapshots
