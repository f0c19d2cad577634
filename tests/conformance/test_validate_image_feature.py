# ruff: noqa: E501 - scenario data (ECPs, expected messages) kept one item per line
"""Conformance with Conforma's ``features/validate_image.feature`` (issue 12's acceptance).

Each test replays one scenario that needs neither Rekor nor keyless certificates: images
built, signed and attested with our own code into the local registry, policies served by a
real git server over HTTPS on loopback or pushed as OCI bundles, our own Rego fixtures
(``validate_image/*.rego``, equivalent to the upstream examples) — then ``konflux-supply
validate image`` is run as a user would run ``ec validate image`` and its output is compared
with the scenario's entry of ``__snapshots__/validate_image.snap`` after the same
normalisation Conforma's snapshots went through (see :mod:`tests.conformance._validate_image`).

Deliberate, documented differences are asserted explicitly where they show:

* no Rekor in this world: the snapshot's ``policy.rekorUrl`` is dropped and we run without
  ``--rekor-url`` (signatures are verified with the key alone);
* the tail ``Error: …`` of a built-in check's message quotes the verifier's own error text
  (cosign's Go errors there, ours here): compared up to ``Error:``;
* ``ec-version`` names the tool that wrote the report (``${EC_VERSION}`` on both sides);
* bad input is exit 2 with one stderr line (COMMON rules), where Conforma exits 1;
* an ``include`` naming nothing is a warning in our report (ADR 0055);
* Conforma reads ECPs and Snapshots from the cluster (``acceptance/ec-policy``) and inline
  snapshots through ``--json-input``; we pass the same documents as files / ``--images``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conformance._validate_image import (
    FEATURE_PATH,
    Acceptance,
    Run,
    feature_scenarios,
    parse_output,
    same_commits,
    strip_error_details,
)

pytestmark = pytest.mark.conformance

HAPPY = "acceptance/ec-happy-day"


# ----------------------------------------------------------------------------- helpers


def signed_image(world: Acceptance, repository: str, *, key: str = "known", **kw: Any) -> None:
    """An image with a valid signature and a valid SLSA v0.2 attestation by ``key``."""
    world.key(key)
    world.image(repository, **kw)
    world.sign(repository, key)
    world.attest(repository, key)


def policy_file(world: Acceptance, spec: dict[str, Any], name: str = "policy.json") -> str:
    return str(world.write(name, json.dumps(spec)))


def one_source(*urls: str, **extra: Any) -> dict[str, Any]:
    return {"sources": [{"policy": list(urls), **extra}]}


def validate(world: Acceptance, *args: str, key: str | None = "known") -> Run:
    """``validate image`` with this world's transport flags (and ``--public-key`` of ``key``)."""
    base = [
        "validate",
        "image",
        "--allow-http-registry",
        "--git-ca-file",
        str(world.git.ca_file),
    ]
    if key:
        base += ["--public-key", "${" + key + "_PUBLIC_KEY}"]
    return world.run([*base, *args])


def canonical(document: Any) -> Any:
    """The parts of a report both tools must agree on (see the module docstring)."""
    document = strip_error_details(document)
    if isinstance(document, dict):
        for name in ("policy", "policy_spec"):
            policy = document.get(name)
            if isinstance(policy, dict):
                policy.pop("rekorUrl", None)
    return document


def expect_json(
    world: Acceptance,
    snapshots: dict[str, str],
    run: Run,
    key: str,
    *,
    exit_code: int,
    output: str | None = None,
    adjust: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Exit code as Conforma's, and our JSON/YAML (stdout or ``output``) equal to the snapshot
    entry ``key`` after normalisation; returns our normalised report. ``adjust(ours, theirs)``
    states a documented difference before the comparison."""
    assert run.exit_code == exit_code, (run.exit_code, run.stderr[-3000:])
    text = output if output is not None else run.stdout
    ours = canonical(parse_output(same_commits(world.normalise(text))))
    theirs = canonical(parse_output(same_commits(snapshots[key])))
    if adjust is not None:
        adjust(ours, theirs)
    assert ours == theirs, _diff(ours, theirs)
    assert isinstance(ours, dict)
    return ours


def _diff(ours: Any, theirs: Any) -> str:
    """A unified diff of two documents (sorted keys), snapshot first."""
    import difflib

    def lines(doc: Any) -> list[str]:
        return json.dumps(doc, indent=1, sort_keys=True).splitlines()

    return "\n".join(difflib.unified_diff(lines(theirs), lines(ours), "snapshot", "ours", n=2))


def expect_text(world: Acceptance, snapshots: dict[str, str], text: str, key: str) -> None:
    ours = world.normalise(text).rstrip("\n")
    assert ours == snapshots[key].rstrip("\n")


def happy_policy(world: Acceptance, repo: str = "happy-day-policy") -> str:
    url = world.git_repo(repo, {"main.rego": world.rego("happy_day")["happy_day.rego"]})
    return policy_file(world, one_source(url))


def codes(report: dict[str, Any], kind: str) -> list[str]:
    return [r["metadata"]["code"] for c in report["components"] for r in c.get(kind, [])]


# ----------------------------------------------------------------------------- scenarios


def test_happy_day(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, HAPPY)
    policy = happy_policy(world)
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy,
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "happy day:stdout - 1", exit_code=0)


def test_happy_day_with_skip_image_sig_check(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    # No snapshot entry of its own in the corpus: the feature says it is "happy day" without
    # the builtin.image.signature_check success.
    signed_image(world, HAPPY)
    policy = happy_policy(world)
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy,
                   "--skip-image-sig-check", "--show-successes", "--output", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    ours = canonical(parse_output(world.normalise(run.stdout)))
    theirs = canonical(parse_output(validate_image_snapshots["happy day:stdout - 1"]))
    component = theirs["components"][0]
    component["successes"] = [
        s
        for s in component["successes"]
        if s["metadata"]["code"] != "builtin.image.signature_check"
    ]
    component.pop("signatures", None)
    ours["components"][0].pop("signatures", None)
    assert ours == theirs


def test_invalid_att_signature_with_skip_att_sig_check(world: Acceptance) -> None:
    # The corpus' snapshot has no entry for this scenario: exit code and codes only.
    world.key("known")
    world.key("unknown")
    world.image("acceptance/invalid-att-signature")
    world.sign("acceptance/invalid-att-signature", "known")
    world.attest("acceptance/invalid-att-signature", "unknown")
    policy = happy_policy(world, "invalid-att-signature")
    run = validate(world, "--image", "${REGISTRY}/acceptance/invalid-att-signature",
                   "--policy", policy, "--skip-att-sig-check", "--show-successes",
                   "--output", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    report = json.loads(run.stdout)
    assert "builtin.attestation.signature_check" not in codes(report, "successes")
    assert "builtin.image.signature_check" in codes(report, "successes")
    assert codes(report, "violations") == []


def test_skip_both_sig_checks(world: Acceptance) -> None:
    # No snapshot entry in the corpus: exit code and codes only.
    world.key("known")
    world.key("unknown")
    world.image("acceptance/skip-both-sig-checks")
    world.sign("acceptance/skip-both-sig-checks", "unknown")
    world.attest("acceptance/skip-both-sig-checks", "unknown")
    policy = happy_policy(world, "skip-both-sig-checks")
    run = validate(world, "--image", "${REGISTRY}/acceptance/skip-both-sig-checks",
                   "--policy", policy, "--skip-image-sig-check", "--skip-att-sig-check",
                   "--show-successes", "--output", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    report = json.loads(run.stdout)
    assert "main.acceptor" in codes(report, "successes")
    assert not {"builtin.image.signature_check", "builtin.attestation.signature_check"} & set(
        codes(report, "successes") + codes(report, "violations")
    )


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_happy_day_with_git_config(
    world: Acceptance, validate_image_snapshots: dict[str, str], fmt: str
) -> None:
    signed_image(world, HAPPY)
    url = world.git_repo("happy-day-policy", world.rego("happy_day"))
    spec = one_source(url)
    text = json.dumps(spec) if fmt == "json" else f"sources:\n  - policy:\n      - '{url}'\n"
    config = world.git_repo("happy-config", {f"policy.{fmt}": text})
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", config,
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, f"happy day with git config and {fmt}:stdout - 1", exit_code=0)  # fmt: skip


def test_happy_day_with_missing_git_config(world: Acceptance) -> None:
    # Conforma: exit 1 and its error. Ours: no configuration in the repository is bad input,
    # exit 2 with one line naming --policy, nothing on stdout.
    signed_image(world, HAPPY)
    url = world.git_repo("happy-day-policy", world.rego("happy_day"))
    config = world.git_repo("happy-config", {"perlicy.json": json.dumps(one_source(url))})
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", config,
                   "--show-successes", "--output", "json")  # fmt: skip
    assert run.exit_code == 2, run.stderr
    assert run.stdout == ""
    assert "no policy configuration" in run.stderr
    assert "--policy" in run.stderr
    assert "Traceback" not in run.stderr


def test_happy_day_with_extra_rule_data(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, HAPPY)
    policy = happy_policy(world)
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy,
                   "--extra-rule-data", "key=value", "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, "happy day with extra rule data:stdout - 1", exit_code=0)  # fmt: skip


def test_happy_day_with_invalid_extra_rule_data(world: Acceptance) -> None:
    # Conforma: exit 1, "incorrect syntax for --extra-rule-data 0". Ours: bad input is exit 2
    # with one line naming the flag, nothing on stdout (COMMON rules).
    signed_image(world, HAPPY)
    policy = happy_policy(world)
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy,
                   "--extra-rule-data", "key-without-value-1,key-without-value-2",
                   "--show-successes", "--output", "json")  # fmt: skip
    assert run.exit_code == 2, run.stderr
    assert run.stdout == ""
    assert "--extra-rule-data" in run.stderr
    assert "Traceback" not in run.stderr


def test_invalid_image_signature(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, "acceptance/invalid-image-signature")
    world.key("unknown")
    policy = happy_policy(world, "invalid-image-signature")
    run = validate(world, "--image", "${REGISTRY}/acceptance/invalid-image-signature",
                   "--policy", policy, "--show-successes", "--output", "json", key="unknown")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, "invalid image signature:stdout - 1", exit_code=1)  # fmt: skip


def test_invalid_image_signature_with_skip_image_sig_check(world: Acceptance) -> None:
    # No snapshot entry in the corpus: the image is signed by "known", the attestation by
    # "unknown", and "unknown" is the key given; skipping the image check passes.
    world.key("known")
    world.key("unknown")
    world.image("acceptance/invalid-image-signature")
    world.sign("acceptance/invalid-image-signature", "known")
    world.attest("acceptance/invalid-image-signature", "unknown")
    policy = happy_policy(world, "invalid-image-signature")
    run = validate(world, "--image", "${REGISTRY}/acceptance/invalid-image-signature",
                   "--policy", policy, "--skip-image-sig-check", "--show-successes",
                   "--output", "json", key="unknown")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    report = json.loads(run.stdout)
    assert "builtin.attestation.signature_check" in codes(report, "successes")


def test_inline_policy(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, HAPPY)
    url = world.git_repo("happy-day-policy", world.rego("happy_day"))
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}",
                   "--policy", json.dumps(one_source(url)),
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "inline policy:stdout - 1", exit_code=0)


def _future_deny(world: Acceptance) -> str:
    signed_image(world, HAPPY)
    url = world.git_repo("future-deny-policy", {"main.rego": _rego(world, "future_deny")})
    return json.dumps(one_source(url))


def _rego(world: Acceptance, name: str) -> str:
    return world.rego(name)[f"{name}.rego"]


def test_future_failure_is_converted_to_a_warning(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    policy = _future_deny(world)
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy,
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, "future failure is converted to a warning:stdout - 1", exit_code=0)  # fmt: skip


def test_future_failure_is_a_deny_with_effective_time(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    policy = _future_deny(world)
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy,
                   "--effective-time", "2100-01-01T12:00:00Z",
                   "--show-successes", "--output", "json")  # fmt: skip
    key = "future failure is a deny when using effective-date flag:stdout - 1"
    expect_json(world, validate_image_snapshots, run, key, exit_code=1)


def test_using_attestation_time_as_effective_time(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    world.key("known")
    world.image(HAPPY)
    world.sign(HAPPY, "known")
    world.attest(
        HAPPY, "known", predicate_patch={"metadata": {"buildFinishedOn": "2100-01-01T00:00:00Z"}}
    )
    url = world.git_repo("future-deny-policy", {"main.rego": _rego(world, "future_deny")})
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}",
                   "--policy", json.dumps(one_source(url)), "--effective-time", "attestation",
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, "using attestation time as effective time:stdout - 1", exit_code=1)  # fmt: skip


def test_severity_is_dynamically_adjusted(world: Acceptance) -> None:
    # The corpus' snapshot has no entry for this scenario; Conforma's rule (facts from the
    # feature): a result's "severity" moves it between violations and warnings.
    signed_image(world, HAPPY)
    url = world.git_repo("dynamic-severity-policy", {"main.rego": _rego(world, "dynamic_severity")})
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}",
                   "--policy", json.dumps(one_source(url)),
                   "--show-successes", "--output", "json", "--info")  # fmt: skip
    assert run.exit_code == 1, run.stderr
    component = json.loads(run.stdout)["components"][0]
    assert sorted(v["msg"] for v in component["violations"]) == [
        "Failure to failure",
        "Warning to failure",
    ]
    assert sorted(w["msg"] for w in component["warnings"]) == [
        "Failure to warning",
        "Warning to warning",
    ]


def _three_repos(world: Acceptance) -> list[str]:
    return [
        world.git_repo("repository1", {"main.rego": _rego(world, "happy_day")}),
        world.git_repo("repository2", {"main.rego": _rego(world, "reject")}),
        world.git_repo("repository3", {"main.rego": _rego(world, "warn")}),
    ]


def test_multiple_policy_sources_with_multiple_source_groups(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, "acceptance/ec-multiple-sources")
    urls = _three_repos(world)
    policy = policy_file(world, {"sources": [{"policy": [u]} for u in urls]})
    run = validate(world, "--image", "${REGISTRY}/acceptance/ec-multiple-sources",
                   "--policy", policy, "--show-successes", "--output", "json")  # fmt: skip
    key = "multiple policy sources with multiple source groups:stdout - 1"
    expect_json(world, validate_image_snapshots, run, key, exit_code=1)


def test_multiple_policy_sources_with_one_source_group(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, "acceptance/ec-multiple-sources")
    urls = _three_repos(world)
    policy = policy_file(world, one_source(*urls))
    run = validate(world, "--image", "${REGISTRY}/acceptance/ec-multiple-sources",
                   "--policy", policy, "--show-successes", "--output", "json")  # fmt: skip
    key = "multiple policy sources with one source group:stdout - 1"
    expect_json(world, validate_image_snapshots, run, key, exit_code=1)


def test_no_failures_warnings_or_successes(world: Acceptance) -> None:
    # Nothing evaluated is never a pass. Conforma exits 1; we report the component as an
    # error (no verdict could be reached, ADR 0055/0062): exit 3.
    signed_image(world, HAPPY)
    url = world.git_repo("happy-day-policy", {"main.rego": _rego(world, "allow_all")})
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}",
                   "--policy", policy_file(world, one_source(url)),
                   "--show-successes", "--output", "json")  # fmt: skip
    assert run.exit_code == 3, run.stderr
    report = json.loads(run.stdout)
    assert report["success"] is False
    assert "no successes, warnings, or failures" in json.dumps(report["components"][0])


def test_policy_and_data_sources(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, HAPPY)
    check = world.git_repo("banana_check", {"main.rego": _rego(world, "fail_with_data")})
    data = [
        world.git_repo(
            f"banana_data_{n}",
            {
                "data.yaml": (
                    Path(__file__).parent / "validate_image" / f"rule_data_{n}.yaml"
                ).read_text()
            },
        )
        for n in (1, 2)
    ]
    spec = {"sources": [{"policy": [check], "data": [d]} for d in data]}
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy_file(world, spec),
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "policy and data sources:stdout - 1",
                exit_code=1)  # fmt: skip


def test_detailed_failures_output(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, "acceptance/image")
    url = world.git_repo("happy-day-policy", world.rego("happy_day", "reject"))
    run = validate(world, "--image", "${REGISTRY}/acceptance/image",
                   "--policy", policy_file(world, one_source(url)), "--info",
                   "--show-successes", "--show-policy-docs-link",
                   "--output", "text=${TMPDIR}/output.txt", "--color", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, "detailed failures output:stdout - 1", exit_code=1)  # fmt: skip
    text = (world.tmp / "output.txt").read_text()
    expect_text(world, validate_image_snapshots, text,
                "detailed failures output:${TMPDIR}/output.txt - 1")  # fmt: skip


def _filtering(world: Acceptance, **source: Any) -> str:
    signed_image(world, HAPPY)
    url = world.git_repo("happy-day-policy", {"filtering.rego": _rego(world, "filtering")})
    return policy_file(world, {"sources": [{"policy": [url], **source}]})


def test_policy_rule_filtering(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    policy = _filtering(world, config={
        "include": ["@stamps", "filtering.always_pass"],
        "exclude": ["filtering.always_fail", "filtering.always_fail_with_collection"],
    })  # fmt: skip
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy,
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(
        world, validate_image_snapshots, run, "policy rule filtering:stdout - 1", exit_code=0
    )


@pytest.mark.parametrize("scope", ["imageRef", "imageUrl"])
def test_policy_rule_filtering_on_image(
    world: Acceptance, validate_image_snapshots: dict[str, str], scope: str
) -> None:
    signed_image(world, HAPPY)
    value = (
        "sha256:" + world.vars[f"REGISTRY_{HAPPY}:latest_DIGEST"]
        if scope == "imageRef"
        else world.expand(f"${{REGISTRY}}/{HAPPY}")
    )
    url = world.git_repo("happy-day-policy", {"filtering.rego": _rego(world, "filtering")})
    spec = {"sources": [{
        "volatileConfig": {"exclude": [
            {"value": "filtering.always_fail", scope: value},
            {"value": "filtering.always_fail_with_collection", scope: value},
        ]},
        "config": {"include": ["@stamps", "filtering.always_pass", "filtering.always_fail"]},
        "policy": [url],
    }]}  # fmt: skip
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy_file(world, spec),
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, f"policy rule filtering on {scope}:stdout - 1", exit_code=0)  # fmt: skip


@pytest.mark.parametrize("name", ["for successes", "per source"])
def test_policy_rule_filtering_successes(
    world: Acceptance, validate_image_snapshots: dict[str, str], name: str
) -> None:
    policy = _filtering(world, config={
        "include": ["@stamps", "filtering.always_pass"],
        "exclude": ["filtering.always_pass_with_collection", "filtering.always_fail_with_collection"],
    })  # fmt: skip
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy,
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, f"policy rule filtering {name}:stdout - 1", exit_code=0)  # fmt: skip


def test_policy_rule_filtering_with_inexistent_inclusion_pattern(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    policy = _filtering(world, config={
        "include": ["@stamps", "filtering.always_pass", "not-a-rule"],
        "exclude": ["filtering.always_fail", "filtering.always_fail_with_collection"],
    })  # fmt: skip
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy,
                   "--show-successes", "--output", "json")  # fmt: skip
    key = "policy rule filtering fails due to inexistent inclusion patterns:stdout - 1"
    report = expect_json(world, validate_image_snapshots, run, key, exit_code=0)
    # Both tools warn about the include naming nothing; ours also fails on it on request
    # (--strict-config, ADR 0055).
    assert [w["msg"] for w in report["components"][0]["warnings"]] == [
        "Include criterion 'not-a-rule' doesn't match any policy rule"
    ]
    strict = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}", "--policy", policy,
                      "--strict-config", "--output", "json")  # fmt: skip
    assert strict.exit_code == 1, strict.stderr


def test_inline_application_snapshot(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, HAPPY)
    policy = happy_policy(world)
    snapshot = {
        "components": [{"name": "Happy", "containerImage": world.expand(f"${{REGISTRY}}/{HAPPY}")}]
    }
    run = validate(world, "--images", json.dumps(snapshot), "--policy", policy,
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, "inline application snapshot:stdout - 1", exit_code=0)  # fmt: skip


def test_application_snapshot_reference(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, HAPPY)
    policy = happy_policy(world)
    snapshot = world.write("snapshot.yaml", (
        "apiVersion: appstudio.redhat.com/v1alpha1\nkind: Snapshot\nmetadata: {name: happy}\n"
        "spec:\n  components:\n    - name: Happy\n      containerImage: ${REGISTRY}/" + HAPPY + "\n"
    ))  # fmt: skip
    run = validate(world, "--images", str(snapshot), "--policy", policy,
                   "--show-successes", "--output", "json")  # fmt: skip

    def adjust(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
        # Conforma names the cluster Snapshot it read ("snapshot": "acceptance/happy"); we read
        # the same Snapshot from a file and name nothing.
        assert theirs.pop("snapshot") == "acceptance/happy"
        assert "snapshot" not in ours

    expect_json(world, validate_image_snapshots, run, "application snapshot reference:stdout - 1",
                exit_code=0, adjust=adjust)  # fmt: skip


def test_junit_and_appstudio_output(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, "acceptance/image")
    url = world.git_repo("my-policy", world.rego("happy_day", "reject"))
    policy = policy_file(world, one_source(url))
    run = validate(world, "--image", "${REGISTRY}/acceptance/image", "--policy", policy,
                   "--show-successes", "--output", "junit")  # fmt: skip
    assert run.exit_code == 1, run.stderr
    expect_text(world, validate_image_snapshots, run.stdout,
                "JUnit and AppStudio output format:stdout - 1")  # fmt: skip
    run = validate(world, "--image", "${REGISTRY}/acceptance/image", "--policy", policy,
                   "--output", "appstudio")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, "JUnit and AppStudio output format:stdout - 2", exit_code=1)  # fmt: skip


def test_using_oci_bundles(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/my-image")
    happy = world.bundle(
        "acceptance/happy-day-policy:tag", {"main.rego": _rego(world, "happy_day")}
    )
    allow = world.bundle("acceptance/allow-all:latest", {"main.rego": _rego(world, "allow_all")})
    del happy, allow
    spec = one_source(
        world.expand("oci::${REGISTRY}/acceptance/happy-day-policy:tag"),
        world.expand("oci::${REGISTRY}/acceptance/allow-all:latest"),
    )
    run = validate(world, "--image", "${REGISTRY}/acceptance/my-image",
                   "--policy", policy_file(world, spec), "--show-successes", "--output", "json")  # fmt: skip
    # Both tools pin the bundles to their digests in the report.
    expect_json(world, validate_image_snapshots, run, "Using OCI bundles:stdout - 1", exit_code=0)


def test_dropping_rego_capabilities(world: Acceptance) -> None:
    # Conforma: exit 1, a compilation error naming the three functions. Ours: a policy that
    # does not load is bad input — exit 2, one line naming the file and line, no report.
    signed_image(world, HAPPY)
    url = world.git_repo("happy-day-policy", {"main.rego": _rego(world, "disallowed_functions")})
    run = validate(world, "--image", f"${{REGISTRY}}/{HAPPY}",
                   "--policy", policy_file(world, one_source(url)),
                   "--show-successes", "--output", "json")  # fmt: skip
    assert run.exit_code == 2, run.stderr
    assert run.stdout == ""
    assert "main.rego" in run.stderr
    assert "opa.runtime" in run.stderr or "http.send" in run.stderr
    assert "Traceback" not in run.stderr


def test_custom_rule_data(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/image")
    one = world.git_repo("my-policy1", world.rego("rule_data"))
    two = world.git_repo("my-policy2", world.rego("rule_data"))
    spec = {"sources": [
        {"policy": [one], "ruleData": {"custom": "data1"}},
        {"policy": [two], "ruleData": {"other": "data2"}},
    ]}  # fmt: skip
    run = validate(world, "--image", "${REGISTRY}/acceptance/image",
                   "--policy", policy_file(world, spec), "--output=json",
                   "--effective-time", "2014-05-31", "--allow-past-effective-time",
                   "--show-successes")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "Custom rule data:stdout - 1",
                exit_code=0)  # fmt: skip


def test_mismatched_image_digest_in_signature(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    world.key("known")
    world.image("acceptance/image")
    world.image("acceptance/bad-actor")
    world.sign("acceptance/image", "known", subject="acceptance/bad-actor")
    world.attest("acceptance/bad-actor", "known")
    policy = happy_policy(world, "mismatched-image-digest")
    run = validate(world, "--image", "${REGISTRY}/acceptance/bad-actor", "--policy", policy,
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, "mismatched image digest in signature:stdout - 1", exit_code=1)  # fmt: skip


def test_mismatched_image_digest_in_attestation(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    world.key("known")
    world.image("acceptance/image")
    world.image("acceptance/bad-actor")
    world.attest("acceptance/image", "known", subject="acceptance/bad-actor")
    world.sign("acceptance/bad-actor", "known")
    policy = happy_policy(world, "mismatched-image-digest")
    run = validate(world, "--image", "${REGISTRY}/acceptance/bad-actor", "--policy", policy,
                   "--show-successes", "--output", "json")  # fmt: skip

    expect_json(world, validate_image_snapshots, run,
                "mismatched image digest in attestation:stdout - 1", exit_code=1)  # fmt: skip


def test_rule_dependencies(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/image")
    url = world.git_repo(
        "with-dependencies", {"main.rego": _rego(world, "rules_with_dependencies")}
    )
    run = validate(world, "--image", "${REGISTRY}/acceptance/image",
                   "--policy", policy_file(world, one_source(url)),
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "rule dependencies:stdout - 1", exit_code=1)


def test_successes_are_not_duplicated(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, "acceptance/unique-successes")
    url = world.git_repo("unique-successes", {
        "happy.rego": _rego(world, "happy_day"),
        "reject.rgo": _rego(world, "reject"),
        "gloomy.rego": _rego(world, "gloomy_day"),
    })  # fmt: skip
    run = validate(world, "--image", "${REGISTRY}/acceptance/unique-successes",
                   "--policy", policy_file(world, one_source(url)), "--strict=false",
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, "successes are not duplicated:stdout - 1", exit_code=0)  # fmt: skip


def test_image_config(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/image-config")
    url = world.git_repo("image-config-policy", world.rego("image_config"))
    run = validate(world, "--image", "${REGISTRY}/acceptance/image-config",
                   "--policy", policy_file(world, one_source(url)),
                   "--show-successes", "--info", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "image config:stdout - 1", exit_code=0)


def test_output_attestations(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/image")
    url = world.git_repo("my-policy", {"happy.rego": _rego(world, "happy_day")})
    run = validate(world, "--image", "${REGISTRY}/acceptance/image",
                   "--policy", policy_file(world, one_source(url)),
                   "--output=json", "--output", "attestation=${TMPDIR}/attestation.jsonl")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "Output attestations:stdout - 1", exit_code=0)
    attestations = (world.tmp / "attestation.jsonl").read_text()
    expect_json(world, validate_image_snapshots, run,
                "Output attestations:${TMPDIR}/attestation.jsonl - 1",
                exit_code=0, output=attestations)  # fmt: skip


def test_policy_input_output(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/policy-input-output")
    url = world.git_repo("policy-input-output-policy", world.rego("happy_day"))
    run = validate(world, "--image", "${REGISTRY}/acceptance/policy-input-output",
                   "--policy", policy_file(world, one_source(url)), "--output", "policy-input")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "policy input output:stdout - 1", exit_code=0)


def test_ignore_rekor(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/ignore-rekor")
    url = world.git_repo("ignore-rekor", world.rego("happy_day"))
    run = validate(world, "--image", "${REGISTRY}/acceptance/ignore-rekor",
                   "--policy", policy_file(world, one_source(url)),
                   "--ignore-rekor", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "ignore rekor:stdout - 1", exit_code=0)


def test_volatile_config_warnings(world: Acceptance) -> None:
    # The corpus' snapshot has no entry for this scenario: the four warnings the feature's
    # policy derives from input.policy_spec and input.component_name are asserted.
    signed_image(world, "acceptance/volatile-config-test")
    url = world.git_repo(
        "volatile-config-policy", {"main.rego": _rego(world, "volatile_config_warnings")}
    )
    spec = {"sources": [{
        "name": "volatile-test-source",
        "policy": [url],
        "volatileConfig": {"exclude": [
            {"value": "test.rule_with_no_expiration"},
            {"value": "test.rule_expiring_soon", "effectiveUntil": "2099-12-31T23:59:59Z"},
            {"value": "test.rule_pending_activation", "effectiveOn": "2099-01-01T00:00:00Z"},
            {"value": "test.component_scoped_rule", "componentNames": ["Unnamed"]},
        ]},
    }]}  # fmt: skip
    run = validate(world, "--image", "${REGISTRY}/acceptance/volatile-config-test",
                   "--policy", policy_file(world, spec), "--output", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    warnings = sorted(w["msg"] for w in json.loads(run.stdout)["components"][0]["warnings"])
    expected = [
        "Volatile exclude rule 'test.component_scoped_rule' has no expiration date set",
        "Volatile exclude rule 'test.component_scoped_rule' is scoped to component 'Unnamed'",
        "Volatile exclude rule 'test.rule_expiring_soon' will expire (effective until: 2099-12-31T23:59:59Z)",
        "Volatile exclude rule 'test.rule_pending_activation' is pending activation (effective on: 2099-01-01T00:00:00Z)",
        "Volatile exclude rule 'test.rule_with_no_expiration' has no expiration date set",
    ]  # fmt: skip
    # ADR 0055: excludes naming rules that do not exist are reported too; only ours here.
    assert [w for w in warnings if w.startswith("Volatile")] == expected


@pytest.mark.parametrize(
    ("component", "exit_code"),
    [("multi-arch-test", 0), ("other-component", 1)],
)
def test_volatile_config_exclude_and_multi_arch_names(
    world: Acceptance, component: str, exit_code: int
) -> None:
    # No snapshot entries in the corpus: an exclude scoped to componentNames matches the
    # expanded child name "<name>-sha256:<digest>-<arch>" of its component, not another's.
    signed_image(world, "acceptance/multi-arch-volatile")
    url = world.git_repo("happy-day-policy", {"filtering.rego": _rego(world, "filtering")})
    spec = {"sources": [{
        "volatileConfig": {"exclude": [
            {"value": "filtering.always_fail", "componentNames": ["multi-arch-test"]},
            {"value": "filtering.always_fail_with_collection", "componentNames": ["multi-arch-test"]},
        ]},
        "config": {"include": ["@stamps", "filtering.always_pass", "filtering.always_fail"]},
        "policy": [url],
    }]}  # fmt: skip
    name = f"{component}-sha256:{'a1b2c3d4e5f6' * 5}a1b2-arm64"
    images = {
        "components": [
            {
                "containerImage": world.expand("${REGISTRY}/acceptance/multi-arch-volatile"),
                "name": name,
            }
        ]
    }
    run = validate(world, "--images", str(world.write("images.json", json.dumps(images))),
                   "--policy", policy_file(world, spec), "--ignore-rekor",
                   "--show-successes", "--output", "json")  # fmt: skip
    assert run.exit_code == exit_code, run.stderr
    violations = codes(json.loads(run.stdout), "violations")
    expected = (
        [] if exit_code == 0 else ["filtering.always_fail", "filtering.always_fail_with_collection"]
    )
    assert sorted(violations) == expected


def test_unsupported_policies(world: Acceptance) -> None:
    # Conforma: exit 1, 'the rule "deny = true if { true }" returns an unsupported value'.
    # Ours: the policy could not give a verdict (exit 3, ADR 0056) — never a pass; one line.
    signed_image(world, "acceptance/image")
    url = world.git_repo("happy-day-policy", {"main.rego": _rego(world, "unsupported")})
    run = validate(world, "--image", "${REGISTRY}/acceptance/image",
                   "--policy", policy_file(world, one_source(url)), "--ignore-rekor",
                   "--show-successes", "--output", "json")  # fmt: skip
    assert run.exit_code == 3, run.stderr
    assert json.loads(run.stdout)["success"] is False
    assert run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stderr


def test_fetch_oci_blob(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/fetch-oci-blob")
    world.blob("acceptance/fetch-oci-blob", b"spam")
    url = world.git_repo("fetch-oci-blob-policy", {"main.rego": _rego(world, "fetch_blob")})
    run = validate(world, "--image", "${REGISTRY}/acceptance/fetch-oci-blob",
                   "--policy", policy_file(world, one_source(url)),
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "fetch OCI blob:stdout - 1", exit_code=0)


def test_fetch_oci_image_manifest(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    signed_image(world, "acceptance/oci-image-manifest")
    # The feature names this repository without ".git"; so does the ECP here.
    url = world.git_repo("oci-image-manifest-policy", world.rego("oci_image_manifest"))
    url = url.removesuffix(".git")
    run = validate(world, "--image", "${REGISTRY}/acceptance/oci-image-manifest",
                   "--policy", policy_file(world, one_source(url)),
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots,
                run, "fetch OCI image manifest:stdout - 1", exit_code=0)  # fmt: skip


def test_discover_tag_based_artifact_references(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    # No snapshot entry in the corpus; the feature expects exit 0 with the rules passing.
    signed_image(world, "acceptance/image-tag-refs")
    url = world.git_repo("image-tag-refs-policy", world.rego("image_tag_refs"))
    run = validate(world, "--image", "${REGISTRY}/acceptance/image-tag-refs",
                   "--policy", policy_file(world, one_source(url)),
                   "--show-successes", "--output", "json")  # fmt: skip
    assert run.exit_code == 0, run.stdout + run.stderr
    successes = codes(json.loads(run.stdout), "successes")
    assert {"tag_refs.count", "tag_refs.format", "tag_refs.sig_count", "tag_refs.att_count"} <= set(
        successes
    )


def test_purl_functions(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/purl")
    url = world.git_repo("purl-policy", {"main.rego": _rego(world, "purl")})
    run = validate(world, "--image", "${REGISTRY}/acceptance/purl",
                   "--policy", policy_file(world, one_source(url)),
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "PURL functions:stdout - 1", exit_code=1)


@pytest.mark.parametrize("slsa_v1", [False, True], ids=["sigstore functions", "SLSA v1"])
def test_sigstore_functions(
    world: Acceptance, validate_image_snapshots: dict[str, str], slsa_v1: bool
) -> None:
    repository = "acceptance/slsa-v1-test" if slsa_v1 else "acceptance/sigstore"
    world.key("known")
    world.image(repository)
    world.sign(repository, "known")
    world.attest(repository, "known", slsa_v1=slsa_v1)
    url = world.git_repo("sigstore", {"main.rego": _rego(world, "sigstore")})
    run = validate(world, "--image", f"${{REGISTRY}}/{repository}",
                   "--policy", policy_file(world, one_source(url)),
                   "--show-successes", "--output", "json")  # fmt: skip
    if slsa_v1:
        # No snapshot entry for the SLSA v1 scenario in the corpus.
        assert run.exit_code == 0, run.stdout + run.stderr
        report = json.loads(run.stdout)
        assert "sigstore.valid" in codes(report, "successes")
        assert report["components"][0]["attestations"][0]["predicateType"] == (
            "https://slsa.dev/provenance/v1"
        )
        return
    expect_json(world, validate_image_snapshots, run, "sigstore functions:stdout - 1", exit_code=0)


def test_format_options(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/image")
    url = world.git_repo("my-policy", world.rego("happy_day", "reject"))
    run = validate(world, "--image", "${REGISTRY}/acceptance/image",
                   "--policy", policy_file(world, one_source(url)), "--show-policy-docs-link",
                   "--output", "text?show-successes=false",
                   "--output", "json=${TMPDIR}/output.json", "--show-successes")  # fmt: skip
    assert run.exit_code == 1, run.stderr
    expect_text(world, validate_image_snapshots, run.stdout, "Format options:stdout - 1")
    expect_json(world, validate_image_snapshots, run, "Format options:${TMPDIR}/output.json - 1",
                exit_code=1, output=(world.tmp / "output.json").read_text())  # fmt: skip


def test_artifact_relocation(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/source")
    policy = happy_policy(world)
    copied = world.run(["copy", "--allow-http-registry", "${REGISTRY}/acceptance/source:latest",
                        "${REGISTRY}/acceptance/destination:latest"])  # fmt: skip
    assert copied.exit_code == 0, copied.stderr
    # Conforma's name for the copied image's digest (the source's, by construction).
    digest = world.vars.pop("REGISTRY_acceptance/source:latest_DIGEST")
    world.vars["REGISTRY_IMAGE_acceptance/destination:latest|acceptance/source:latest_DIGEST"] = (
        digest
    )
    run = validate(world, "--image", "${REGISTRY}/acceptance/destination", "--policy", policy,
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "artifact relocation:stdout - 1", exit_code=0)


def _manifests() -> dict[str, bytes]:
    folder = Path(__file__).parent / "validate_image"
    return {
        f"manifests/{name}": (folder / name).read_bytes()
        for name in ("some.crd.yaml", "some.clusterserviceversion.yaml")
    }


def test_fetch_oci_image_files(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    signed_image(world, "acceptance/oci-image-files", files=_manifests())
    url = world.git_repo("oci-image-files-policy", world.rego("oci_image_files"))
    run = validate(world, "--image", "${REGISTRY}/acceptance/oci-image-files",
                   "--policy", policy_file(world, one_source(url.removesuffix(".git"))),
                   "--show-successes", "--output", "json")  # fmt: skip
    expect_json(
        world, validate_image_snapshots, run, "fetch OCI image files:stdout - 1", exit_code=0
    )


def test_olm_manifests(world: Acceptance, validate_image_snapshots: dict[str, str]) -> None:
    labels = {"operators.operatorframework.io.bundle.manifests.v1": "manifests/"}
    signed_image(world, "acceptance/image", files=_manifests(), labels=labels)
    url = world.git_repo("olm-manifests", {"image_config.rego": _rego(world, "olm_manifests")})
    run = validate(world, "--image", "${REGISTRY}/acceptance/image",
                   "--policy", policy_file(world, one_source(url)), "--ignore-rekor",
                   "--show-successes", "--output=json",
                   "--output=policy-input=${TMPDIR}/input.json")  # fmt: skip
    expect_json(world, validate_image_snapshots, run, "OLM manifests:stdout - 1", exit_code=0)
    # The input file holds the manifests themselves (ours, not Conforma's): the files the
    # policy read are checked, not compared with the snapshot's.
    document = json.loads((world.tmp / "input.json").read_text())
    files = document["image"]["files"]
    assert files["manifests/some.clusterserviceversion.yaml"]["kind"] == "ClusterServiceVersion"
    assert files["manifests/some.crd.yaml"]["spec"]["names"]["singular"] == "memcached"


def test_many_components_and_sources(
    world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    world.key("known")
    url = world.git_repo("multitude-policy", {"main.rego": _rego(world, "happy_day")})
    data = [{"key": "value"}, {"something": "here"}, {"key": "different"}, {"hello": "world"},
            {"foo": "bar"}, {"peek": "poke"}, {"hide": "seek"}, {"hokus": "pokus"},
            {"mr": "mxyzptlk"}, {"more": "data"}]  # fmt: skip
    spec = {"sources": [{"policy": [url], "ruleData": rule_data} for rule_data in data]}
    components = []
    for n in range(10):
        repository = f"multitude/image-{n}"
        signed_image(world, repository)
        components.append(
            {"name": f"component{n}", "containerImage": world.expand(f"${{REGISTRY}}/{repository}")}
        )
    snapshot = world.write("multitude.json", json.dumps({"components": components}))
    run = validate(world, "--images", str(snapshot), "--policy", policy_file(world, spec),
                   "--show-successes", "--output", "json")  # fmt: skip

    def adjust(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
        # Conforma names the cluster Snapshot it read; we read a file (see above).
        assert theirs.pop("snapshot") == "acceptance/multitude"

    expect_json(world, validate_image_snapshots, run, "many components and sources:stdout - 1",
                exit_code=0, adjust=adjust)  # fmt: skip


def test_discover_artifact_referrers(referrers_world: Acceptance) -> None:
    # No snapshot entry in the corpus. Our fixture expects our publisher's referrer artifact
    # types (cosign's: a signature artifact, and the attestation as a cosign DSSE artifact or
    # a Sigstore bundle); Conforma's acceptance stores them with the layer media types.
    world = referrers_world
    repository = "acceptance/image-referrers"
    world.key("referrers")
    world.image(repository)
    world.sign(repository, "referrers", referrer=True)
    world.attest(repository, "referrers", referrer=True)
    world.sign(repository, "referrers")
    world.attest(repository, "referrers")
    url = world.git_repo("image-referrers-policy", world.rego("image_referrers"))
    run = validate(world, "--image", f"${{REGISTRY}}/{repository}",
                   "--policy", policy_file(world, one_source(url)),
                   "--show-successes", "--output", "json", key="referrers")  # fmt: skip
    assert run.exit_code == 0, run.stdout + run.stderr
    successes = codes(json.loads(run.stdout), "successes")
    assert {"referrers.format", "referrers.content_types"} <= set(successes)


def test_sigstore_functions_with_bundle_format_attestations(
    referrers_world: Acceptance, validate_image_snapshots: dict[str, str]
) -> None:
    world = referrers_world
    repository = "acceptance/sigstore-bundles"
    world.key("bundle")
    world.image(repository)
    world.sign(repository, "bundle", referrer=True)
    world.attest(repository, "bundle", bundle=True)
    url = world.git_repo("sigstore-bundles", {"main.rego": _rego(world, "sigstore")})
    run = validate(world, "--image", f"${{REGISTRY}}/{repository}",
                   "--policy", policy_file(world, one_source(url)), "--ignore-rekor",
                   "--show-successes", "--output", "json", key="bundle")  # fmt: skip
    key = "sigstore functions with bundle-format attestations:stdout - 1"

    def adjust(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
        # Conforma lists neither the image signatures it verified from referrers nor the
        # predicate's buildType of a bundle attestation; we report both, as for tag-stored ones.
        component = ours["components"][0]
        assert "signatures" not in theirs["components"][0]
        assert len(component.pop("signatures")) == 1
        build_type = component["attestations"][0].pop("predicateBuildType")
        assert build_type == "https://tekton.dev/attestations/chains/pipelinerun@v2"

    expect_json(world, validate_image_snapshots, run, key, exit_code=0, adjust=adjust)


#: The feature's scenarios replayed above (by their names in the feature file).
REPRODUCED = (
    "happy day",
    "happy day with skip-image-sig-check flag",
    "invalid att signature with valid image sig and skip-att-sig-check flag",
    "skip both image and att sig checks for debugging",
    "happy day with extra rule data",
    "happy day with invalid extra rule data",
    "invalid image signature",
    "invalid image signature with valid att sig and skip-image-sig-check flag",
    "inline policy",
    "future failure is converted to a warning",
    "future failure is a deny when using effective-date flag",
    "severity is dynamically adjusted",
    "multiple policy sources with multiple source groups",
    "multiple policy sources with one source group",
    "no failures, warnings, or successes",
    "policy and data sources",
    "using attestation time as effective time",
    "detailed failures output",
    "policy rule filtering",
    "policy rule filtering on imageRef",
    "policy rule filtering on imageUrl",
    "policy rule filtering for successes",
    "policy rule filtering per source",
    "policy rule filtering fails due to inexistent inclusion patterns",
    "inline application snapshot",
    "application snapshot reference",
    "JUnit and AppStudio output format",
    "Using OCI bundles",
    "Dropping rego capabilities",
    "Custom rule data",
    "mismatched image digest in signature",
    "mismatched image digest in attestation",
    "artifact relocation",
    "rule dependencies",
    "successes are not duplicated",
    "image config",
    "Output attestations",
    "policy input output",
    "ignore rekor",
    "OLM manifests",
    "volatile config warnings schema contract",
    "volatile config exclude matches multi-arch expanded component name",
    "volatile config exclude does not match different multi-arch component",
    "Unsupported policies",
    "fetch OCI blob",
    "fetch OCI image manifest",
    "fetch OCI image files",
    "discover tag-based artifact references",
    "discover artifact referrers via OCI Referrers API",
    "PURL functions",
    "sigstore functions",
    "sigstore functions with bundle-format attestations",
    "many components and sources",
    "Format options",
    "SLSA v1 attestation support",
)


def test_reproduced_scenarios_exist_upstream(peers: Path) -> None:
    """The names above are the feature's (a renamed or dropped scenario shows here), and the
    acceptance bar of issue 12 (at least 25 scenarios) holds."""
    feature = peers.joinpath(*FEATURE_PATH)
    if not feature.is_file():
        pytest.skip(f"Conforma's validate_image.feature not in the peer corpus ({feature})")
    names = set(feature_scenarios(feature))
    assert [name for name in REPRODUCED if name not in names] == []
    assert len(set(REPRODUCED)) == len(REPRODUCED) >= 25
