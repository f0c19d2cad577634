"""``konflux-supply sign-run``: what Tekton Chains does for one finished run, as a Tekton step.

Keys are found as Chains finds them (``x509.pem``, else ``cosign.key`` + ``cosign.password``
in ``--signing-secrets``, default ``/etc/signing-secrets``; or the config's
``signers.kms.kmsref``). The outcome JSON goes to stdout (or ``--output``); with
``--results-dir`` the Tekton results ``SIGNED`` and ``SIGN_STATUS`` are written there, each
within Tekton's 4 KB result limit. ``--oci-layout DIR`` stores images' signatures and
attestations in an OCI image layout instead of their registries (offline, for demos/tests).

``--from-cluster NAMESPACE/NAME`` reads the run and its child TaskRuns with the pod's service
account (extra ``kubernetes``); ``--annotate`` merge-patches the outcome's annotations onto it.

Exit codes: 0 signed and stored (or skipped by policy: a failed run with
``sign-failed-runs: false``); 1 not everything was signed and stored (the outcome says what);
2 bad input.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import click

from konflux_supply.cli._common import (
    load_document,
    read_bytes,
    registrar,
    write_all_atomically,
)
from konflux_supply.cli._keys import backend_config, secrets_from_environment
from konflux_supply.cli._registry import append_policy, registry_options
from konflux_supply.errors import InputError

if TYPE_CHECKING:
    from konflux_supply.chains import SignOutcome
    from konflux_supply.oci import RegistryOptions

__all__ = ["RESULT_LIMIT", "register", "tekton_results"]

RESULT_LIMIT = 4096
"""Tekton's default maximum size of one result, in bytes."""


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def tekton_results(outcome: SignOutcome) -> dict[str, bytes]:
    """The step's Tekton results: ``SIGNED`` (``true``/``false``) and ``SIGN_STATUS`` (the
    per-artifact status map; when that is over 4 KB, counts per state instead)."""
    status = _compact(outcome.status_map())
    if len(status.encode()) > RESULT_LIMIT:
        counts: dict[str, int] = {}
        for artifact in outcome.artifacts:
            counts[artifact.state] = counts.get(artifact.state, 0) + 1
        status = _compact({"counts": counts, "truncated": True})
    return {
        "SIGNED": b"true" if outcome.signed else b"false",
        "SIGN_STATUS": status.encode(),
    }


def _config(path: str) -> Any:
    """A ConfigMap file, or the directory a ConfigMap is mounted at (a file per key; the
    ``..data`` links Kubernetes adds are skipped)."""
    from konflux_supply.chains import Config

    if not os.path.isdir(path):
        return Config.from_configmap(read_bytes(path))
    data: dict[str, str] = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if name.startswith(".") or not os.path.isfile(full):
            continue
        try:
            data[name] = read_bytes(full, cap=1024 * 1024).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", source=full) from None
    return Config.from_data(data)


def _run_files(run_file: str, child_files: tuple[str, ...]) -> tuple[Any, list[Any]]:
    run = load_document(run_file)
    if not isinstance(run, dict):
        raise InputError("a run must be a JSON object", source=run_file)
    children = []
    for path in child_files:
        child = load_document(path)
        if not isinstance(child, dict):
            raise InputError("a TaskRun must be a JSON object", source=path)
        children.append(child)
    return run, children


def _kubernetes_client() -> Any:
    """The pod's service account (in-cluster), else the kubeconfig (``KUBECONFIG``)."""
    from konflux_supply.errors import BackendUnavailable

    try:
        from kubernetes import client
        from kubernetes import config as kube_config
    except ImportError:
        raise BackendUnavailable.missing_extra("kubernetes", "kubernetes") from None
    configuration = client.Configuration()
    try:
        kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except kube_config.ConfigException:
        try:
            # KUBECONFIG read now (the client reads it once, at import)
            kube_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=os.environ.get("KUBECONFIG") or None,
                client_configuration=configuration,
            )
        except (kube_config.ConfigException, OSError) as error:
            raise BackendUnavailable(
                f"no Kubernetes configuration: not in a pod, and no kubeconfig ({error})"
            ) from None
    return client.ApiClient(configuration)


@click.command("sign-run")
@click.option(
    "--config",
    "config_file",
    required=True,
    metavar="CONFIGMAP.yaml|DIR",
    help="The chains-config ConfigMap (the whole object or its data: map), or the directory "
    "it is mounted at (a file per key).",
)
@click.option(
    "--from-cluster",
    "from_cluster",
    metavar="NAMESPACE/NAME",
    help="Read the run (a PipelineRun, else a TaskRun) and its child TaskRuns from the "
    "cluster (in-cluster service account, else kubeconfig) instead of RUN.json.",
)
@click.option(
    "--annotate",
    is_flag=True,
    help="With --from-cluster: merge-patch the outcome's annotations onto the run.",
)
@click.option(
    "--signing-secrets",
    default="/etc/signing-secrets",
    show_default=True,
    metavar="DIR",
    help="Where x509.pem, or cosign.key and cosign.password, are mounted.",
)
@click.option(
    "--child",
    "child_files",
    multiple=True,
    metavar="TASKRUN.json",
    help="A child TaskRun of the PipelineRun (repeat for each; JSON or YAML).",
)
@click.option("--results-dir", metavar="DIR", help="Write Tekton results here (/tekton/results).")
@click.option("--output", metavar="FILE", help="Write the outcome JSON here instead of stdout.")
@click.option(
    "--oci-layout",
    metavar="DIR",
    help="Store signatures and attestations in this OCI image layout, not in registries.",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Re-check appends for this long (writers on other hosts sharing no lock).",
)
@registry_options
@click.argument("run_file", metavar="RUN.json", required=False)
def sign_run_command(
    config_file: str,
    from_cluster: str | None,
    annotate: bool,
    signing_secrets: str,
    child_files: tuple[str, ...],
    results_dir: str | None,
    output: str | None,
    oci_layout: str | None,
    settle: float,
    run_file: str | None,
    registry_options: RegistryOptions,
) -> int:
    """Sign a finished TaskRun or PipelineRun (RUN.json) as Tekton Chains would.

    Prints the outcome: each artifact's state (stored, signed, skipped, failed with the cause)
    and the annotations to patch onto the run.

    With transparency.enabled ("true", or "manual" for runs annotated
    chains.tekton.dev/transparency-upload: "true") every signature and attestation is logged
    in the Rekor log at transparency.url first, and its entry verified with the log's key
    (transparency.public-key, or transparency.trust-served-key: "true"); a log that fails
    leaves the artifact failed, never signed.
    """
    from konflux_supply import chains, oci, publish

    config = _config(config_file)
    for warning in config.warnings:
        click.echo(f"konflux-supply: warning: {warning}", err=True)
    if (run_file is None) == (from_cluster is None):
        raise InputError("give RUN.json or --from-cluster NAMESPACE/NAME (one of them)")
    if annotate and from_cluster is None:
        raise InputError("--annotate needs --from-cluster", field="--annotate")
    api_client: Any = None
    if from_cluster is not None:
        from konflux_supply.chains import cluster

        api_client = _kubernetes_client()
        run, children = cluster.read_run(api_client, from_cluster)
    else:
        assert run_file is not None
        run, children = _run_files(run_file, child_files)
    if results_dir is not None and not os.path.isdir(results_dir):
        raise InputError("not a directory", field="--results-dir", source=results_dir)
    signers = chains.Signers(
        secrets_dir=signing_secrets,
        backend_config=backend_config(),
        secrets=secrets_from_environment(),
    )
    # As Chains: store for the digests the run names without reading the images first.
    options = publish.PublishOptions(policy=append_policy(settle), require_image=False)
    registry: Any
    if oci_layout is not None:
        registry, _ = oci.open_registry(f"oci:{oci_layout}", options=registry_options)
    else:
        registry = oci.RegistryPool(registry_options)
    try:
        outcome = chains.sign_run(
            run,
            config,
            children=children,
            registry=registry,
            signer=signers,
            publish_options=options,
        )
    finally:
        registry.close()
    document = (json.dumps(outcome.to_json(), indent=2, sort_keys=False) + "\n").encode()
    files: list[tuple[str, bytes, int | None]] = []
    if output is not None:
        files.append((output, document, None))
    if results_dir is not None:
        files += [
            (os.path.join(results_dir, name), value, None)
            for name, value in tekton_results(outcome).items()
        ]
    write_all_atomically(files)
    if annotate:
        from konflux_supply.chains import cluster

        cluster.annotate_run(api_client, run, outcome.annotations_to_patch())
    if output is None:
        click.echo(document.decode(), nl=False)
    for artifact in outcome.artifacts:
        if not artifact.done:
            click.echo(
                f"konflux-supply: {artifact.kind} {artifact.key}: {artifact.summary()}", err=True
            )
    return 0 if outcome.signed or outcome.skipped_run == "run failed" else 1


register = registrar(sign_run_command)
