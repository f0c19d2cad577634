"""The pure parts of the release gate: option parsing, trust, index expansion, enforce."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply import oci, signing
from konflux_supply.cli._validate import parse_effective_time, parse_extra_rule_data
from konflux_supply.errors import InputError, PolicyError, VerificationError
from konflux_supply.models.oci import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageIndex,
    ImageManifest,
    RawManifest,
)
from konflux_supply.policy import ComponentError, ComponentReport, EnterpriseContractPolicy, Report
from konflux_supply.policy.config import Identity
from konflux_supply.release import Component, Snapshot, ValidateOptions, enforce
from konflux_supply.release import _validate as validate_module
from konflux_supply.release._expand import expand_indexes
from konflux_supply.release._trust import build_trust
from konflux_supply.release._validate import _attestation_time
from tests.unit.oci.memory import MemoryRegistry
from tests.unit.release._helpers import run_cli

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


# -- --effective-time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", "now"),
        ("attestation", "attestation"),
        ("2027-01-02", datetime(2027, 1, 2, tzinfo=UTC)),
        ("2027-01-02T03:04:05Z", datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2027-01-02T05:04:05+02:00", datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ],
)
def test_effective_time_forms(text: str, expected: Any) -> None:
    assert parse_effective_time(text, now=NOW) == expected


def test_a_past_effective_time_needs_the_flag() -> None:
    with pytest.raises(InputError, match="past") as caught:
        parse_effective_time("2014-05-31", now=NOW)
    assert caught.value.hint is not None
    assert "--allow-past-effective-time" in caught.value.hint
    assert parse_effective_time("2014-05-31", now=NOW, allow_past=True) == datetime(
        2014, 5, 31, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["", "yesterday", "2027-13-01", "2027-01-02T03:04:05", "12:00"])
def test_bad_effective_times(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_effective_time(text, now=NOW)
    assert caught.value.field == "--effective-time"


@given(st.text(max_size=40))
def test_effective_time_parsing_raises_only_input_errors(text: str) -> None:
    try:
        value = parse_effective_time(text, now=NOW, allow_past=True)
    except InputError:
        return
    assert value in ("now", "attestation") or (
        isinstance(value, datetime) and value.tzinfo is not None
    )


# -- --extra-rule-data --------------------------------------------------------------------------


def test_extra_rule_data_values(tmp_path: Path) -> None:
    file = tmp_path / "prefixes.yaml"
    file.write_text("- registry.io/\n- quay.io/\n")
    got = parse_extra_rule_data(
        ("allowed=" + str(file), "n=3", 'obj={"a": [1]}', "text=hello world", "empty=")
    )
    assert got == {
        "allowed": ["registry.io/", "quay.io/"],
        "n": 3,
        "obj": {"a": [1]},
        "text": "hello world",
        "empty": "",
    }


@pytest.mark.parametrize("item", ["novalue", "=x", " =x"])
def test_extra_rule_data_needs_key_and_value(item: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_extra_rule_data((item,))
    assert caught.value.field == "--extra-rule-data"


@given(st.lists(st.text(max_size=30), max_size=4))
def test_extra_rule_data_raises_only_input_errors(items: list[str]) -> None:
    with contextlib.suppress(InputError):
        parse_extra_rule_data(tuple(items))


# -- --effective-time attestation -----------------------------------------------------------------


def test_attestation_time() -> None:
    assert _attestation_time("2026-01-02T03:04:05Z", NOW) == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC
    )
    assert _attestation_time(None, NOW) == NOW
    assert _attestation_time("not a time", NOW) == NOW


# -- trust ----------------------------------------------------------------------------------------


def _pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return signing.signer_from_private_key(key).public_key_pem().decode()


def test_a_public_key_is_the_reports_key_and_the_sigstore_default() -> None:
    pem = _pem()
    ecp = EnterpriseContractPolicy.from_dict({"publicKey": pem, "sources": [{"policy": ["x"]}]})
    trust = build_trust(ecp, ValidateOptions())
    assert trust.key_pem == pem
    assert not trust.keyless
    assert trust.sigstore_opts["public_key"] == pem
    assert trust.public_keys == {}  # inline PEM: nothing to resolve for ec.sigstore.*


def test_a_key_file_is_resolved_for_the_builtins(tmp_path: Path) -> None:
    pem = _pem()
    (tmp_path / "cosign.pub").write_text(pem)
    ref = str(tmp_path / "cosign.pub")
    ecp = EnterpriseContractPolicy.from_dict({"publicKey": ref, "sources": [{"policy": ["x"]}]})
    trust = build_trust(ecp, ValidateOptions())
    assert trust.public_keys == {ref: pem.encode()}


def test_keyless_without_a_trusted_root_says_so() -> None:
    ecp = EnterpriseContractPolicy.from_dict(
        {
            "identity": {"subject": "me@example.com", "issuer": "https://issuer.example"},
            "sources": [{"policy": ["x"]}],
        }
    )
    with pytest.raises(InputError, match="trusted root") as caught:
        build_trust(ecp, ValidateOptions())
    assert caught.value.field == "--trusted-root"


def test_keyless_without_an_identity_is_bad_input() -> None:
    ecp = EnterpriseContractPolicy.from_dict({"sources": [{"policy": ["x"]}]})
    with pytest.raises(InputError, match="keyless"):
        build_trust(ecp, ValidateOptions(identity=Identity(subject="me")))


def test_cli_keyless_without_trusted_root_exits_2() -> None:
    code, out, err = run_cli(
        "validate", "image", "--image", "registry.example/a:b",
        "--policy", '{"sources":[{"policy":["/nonexistent"]}]}',
        "--certificate-identity", "me", "--certificate-oidc-issuer", "https://i.example",
    )  # fmt: skip
    assert code == 2
    assert out == b""
    assert "trusted root" in err
    assert "Traceback" not in err


def test_cli_needs_an_image() -> None:
    code, _, err = run_cli("validate", "image", "--policy", '{"sources":[{"policy":["x"]}]}')
    assert code == 2
    assert "--image" in err


# -- image-index expansion ------------------------------------------------------------------------


class _Pool:
    def __init__(self, registry: MemoryRegistry) -> None:
        self.registry = registry

    def open(self, reference: str) -> tuple[MemoryRegistry, oci.Reference]:
        return self.registry, oci.parse_reference(reference)


def _manifest(registry: MemoryRegistry, repository: str, body: bytes) -> RawManifest:
    registry.put_blob(repository, body)
    manifest = RawManifest.of(
        ImageManifest(
            schema_version=2,
            media_type=OCI_MANIFEST,
            config=Descriptor.for_bytes(body, OCI_CONFIG),
            layers=[],
        )
    )
    registry.put_manifest(repository, manifest.digest, manifest)
    return manifest


def test_an_index_brings_one_component_per_manifest() -> None:
    registry = MemoryRegistry()
    amd, arm = _manifest(registry, "app", b"{}"), _manifest(registry, "app", b'{"a":1}')
    index = RawManifest.of(
        ImageIndex(
            schema_version=2,
            media_type=OCI_INDEX,
            manifests=[
                Descriptor(
                    media_type=OCI_MANIFEST,
                    size=len(amd.data),
                    digest=amd.digest,
                    platform={"architecture": "amd64", "os": "linux"},
                ),
                Descriptor(media_type=OCI_MANIFEST, size=len(arm.data), digest=arm.digest),
            ],
        )
    )
    registry.put_manifest("app", "multi", index)
    source = {"git": {"url": "https://git.example/app", "revision": "abc"}}
    components = [
        Component("app", "registry.example/app:multi", source=source),
        Component("plain", f"registry.example/app@{amd.digest}"),
    ]
    expanded = expand_indexes(_Pool(registry), components)  # type: ignore[arg-type]
    by_name = {c.name: c for c in expanded}
    assert set(by_name) == {
        "app",
        "plain",
        f"app-{amd.digest}-amd64",
        f"app-{arm.digest}-noarch-1",
    }
    child = by_name[f"app-{amd.digest}-amd64"]
    assert child.container_image == f"registry.example/app@{amd.digest}"
    assert child.source == source
    assert [c.container_image for c in expanded] == sorted(c.container_image for c in expanded)


def test_expansion_errors_only_warn(caplog: pytest.LogCaptureFixture) -> None:
    components = [Component("bad", "not a reference!")]
    assert expand_indexes(_Pool(MemoryRegistry()), components) == components  # type: ignore[arg-type]
    assert "image index" in caplog.text


# -- enforce --------------------------------------------------------------------------------------


def _report(*components: ComponentReport) -> Report:
    return Report(components=components, policy={}, effective_time=NOW)


@pytest.mark.parametrize(
    ("report", "raised"),
    [
        (_report(ComponentReport("a", "r/a@sha256:" + "a" * 64)), None),
        (
            _report(
                ComponentReport(
                    "a", "r/a@sha256:" + "a" * 64, violations=({"msg": "no", "metadata": {}},)
                )
            ),
            VerificationError,
        ),
        (
            _report(
                ComponentReport(
                    "a", "r/a@sha256:" + "a" * 64, error=ComponentError("builtin.x", "503")
                )
            ),
            PolicyError,
        ),
    ],
)
def test_enforce(
    monkeypatch: pytest.MonkeyPatch, report: Report, raised: type[Exception] | None
) -> None:
    monkeypatch.setattr(validate_module, "validate", lambda *a, **k: report)
    ecp = EnterpriseContractPolicy.from_dict({"sources": [{"policy": ["x"]}]})
    if raised is None:
        assert enforce(Snapshot(), ecp) is report
    else:
        with pytest.raises(raised):
            enforce(Snapshot(), ecp)


def test_validate_refuses_unpicklable_credentials() -> None:
    options = ValidateOptions(registry=oci.RegistryOptions(credentials=lambda host: None))
    ecp = EnterpriseContractPolicy.from_dict({"sources": [{"policy": ["x"]}]})
    with pytest.raises(InputError, match="picklable"):
        validate_module.validate(Snapshot(), ecp, options=options)


def test_a_naive_effective_time_is_refused() -> None:
    ecp = EnterpriseContractPolicy.from_dict({"sources": [{"policy": ["x"]}]})
    options = ValidateOptions(effective_time=NOW.replace(tzinfo=None) - timedelta(days=1))
    with pytest.raises(InputError, match="timezone"):
        validate_module.validate(Snapshot(), ecp, options=options)


def test_validate_of_an_empty_snapshot_is_an_empty_passing_report(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text("package p\n\nimport rego.v1\n\ndeny contains 1 if false\n")
    ecp = EnterpriseContractPolicy.from_dict(
        {"publicKey": _pem(), "sources": [{"policy": [str(tmp_path)]}]}
    )
    report = validate_module.validate(Snapshot(), ecp, options=ValidateOptions(workers=1))
    assert report.components == ()
    assert report.exit_code() == 0
    assert json.loads(report.to_json())["policy"]["sources"] == [{"policy": [str(tmp_path)]}]


# -- CLI bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--shard", "3/3"), "--shard"),
        (("--output", "nope"), "--output"),
        (("--effective-time", "soon"), "--effective-time"),
        (("--extra-rule-data", "novalue"), "--extra-rule-data"),
        (("--git-ca-file", "/nonexistent/ca.pem"), "--git-ca-file"),
    ],
)
def test_cli_bad_flags_exit_2_before_anything(
    tmp_path: Path, args: tuple[str, ...], field: str
) -> None:
    out_file = tmp_path / "report.json"
    code, out, err = run_cli(
        "validate", "image", "--image", "registry.example/a:b",
        "--policy", '{"sources":[{"policy":["/nonexistent"]}]}',
        "--output", f"json={out_file}", *args,
    )  # fmt: skip
    assert code == 2
    assert out == b""
    assert field in err
    assert len(err.strip().splitlines()) <= 2
    assert not out_file.exists()


def test_cli_a_policy_that_does_not_parse_is_bad_input() -> None:
    code, _, err = run_cli("validate", "image", "--image", "r.example/a:b", "--policy", "{")
    assert code == 2
    assert "Traceback" not in err


def test_cli_a_missing_local_source_is_bad_input() -> None:
    code, _, err = run_cli(
        "validate", "image", "--image", "r.example/a:b",
        "--policy", json.dumps({"publicKey": _pem(), "sources": [{"policy": ["/nonexistent"]}]}),
    )  # fmt: skip
    assert code == 2
    assert "spec.sources[0].policy[0]" in err


def test_progress_line_overwrites_itself() -> None:
    import io

    from konflux_supply.cli._validate import _Progress

    stream = io.StringIO()
    progress = _Progress(stream)
    progress(0, 2, "a-long-component-name", "image")
    progress(1, 2, "b", "done")
    progress.clear()
    text = stream.getvalue()
    assert text.startswith("\r[0/2] a-long-component-name: image")
    assert "\r[1/2] b: done" in text
    assert text.endswith("\r")


def test_a_failing_component_costs_only_its_own_verdict(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from konflux_supply.release._image import ImageCheckError

    (tmp_path / "p.rego").write_text("package p\n\nimport rego.v1\n\ndeny contains 1 if false\n")
    ecp = EnterpriseContractPolicy.from_dict(
        {"publicKey": _pem(), "sources": [{"policy": [str(tmp_path)]}]}
    )

    def check(pool: Any, image: str, options: Any, **_: Any) -> Any:
        if image.endswith("bug"):
            raise RuntimeError("boom")
        raise ImageCheckError(f"{image}: registry answered 503", code="builtin.image.accessible")

    monkeypatch.setattr(validate_module, "check_image", check)
    monkeypatch.setattr(validate_module, "expand_indexes", lambda pool, components: components)
    snapshot = Snapshot(
        components=(
            Component("a", "registry.example/a:bug"),
            Component("b", "registry.example/b:x"),
        )
    )
    report = validate_module.validate(snapshot, ecp, options=ValidateOptions(workers=2))
    assert report.exit_code() == 3
    errors = {c.name: c.error for c in report.components}
    assert errors["a"] is not None
    assert errors["a"].kind == "internal"
    assert "RuntimeError: boom" in errors["a"].cause
    assert errors["b"] is not None
    assert errors["b"].kind == "registry"
    assert errors["b"].code == "builtin.image.accessible"
