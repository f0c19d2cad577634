"""Key and blob commands, mirroring cosign's flags and output.

``generate-key-pair``, ``import-key-pair``, ``public-key``, ``sign-blob``, ``verify-blob``,
``attest-blob``, ``verify-blob-attestation``, ``verify-bundle``.

Passwords follow cosign: ``COSIGN_PASSWORD`` if set (an empty value is the empty password),
else a prompt on a terminal, else all of stdin verbatim. Go-style booleans
(``--tlog-upload=false``) are accepted. Machine output goes to stdout; messages to stderr.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from konflux_supply.cli._common import read_bytes, registrar, write_all_atomically, write_atomically
from konflux_supply.cli._sbom import check_sbom_predicate
from konflux_supply.cli._trust import transparency_log
from konflux_supply.errors import BackendUnavailable, InputError, VerificationError

if TYPE_CHECKING:
    from konflux_supply.signing import BackendConfig

_TRUE = {"1", "t", "true"}
_FALSE = {"0", "f", "false"}


class _GoFlags(click.Command):
    """Accept Go's ``--flag=true|false`` for boolean flags declared ``--flag/--no-flag``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        flags = {
            opt
            for param in self.params
            if isinstance(param, click.Option) and param.is_bool_flag
            for opt in param.opts
        }
        out: list[str] = []
        for index, arg in enumerate(args):
            if arg == "--":
                out.extend(args[index:])
                break
            name, eq, value = arg.partition("=")
            if eq and name in flags:
                if value.lower() in _TRUE:
                    out.append(name)
                elif value.lower() in _FALSE:
                    out.append("--no-" + name[2:])
                else:
                    raise click.BadParameter(f"{value!r} is not a boolean", param_hint=name)
            else:
                out.append(arg)
        return super().parse_args(ctx, out)


def _stdin_secret(prompt: str, confirm: bool, variable: str) -> bytes:
    """A secret typed at the terminal, or read from stdin; a closed stdin is exit 2 saying
    which variable to set."""
    stdin = sys.stdin
    if stdin is None or getattr(stdin, "closed", False):
        raise InputError(f"no {variable} set and stdin is closed", hint=f"set {variable}")
    try:
        if stdin.isatty():
            value = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
            return str(value).encode("utf-8")
        return stdin.buffer.read()
    except (OSError, ValueError) as error:
        raise InputError(
            f"no {variable} set and stdin cannot be read ({error})", hint=f"set {variable}"
        ) from None


def secrets_from_environment(*, confirm: bool = False) -> Callable[[str], bytes]:
    """The CLI's secrets callback: cosign's environment variables, then a prompt or stdin."""
    from konflux_supply import signing

    cache: dict[str, bytes] = {}

    def secrets(what: str) -> bytes:
        if what in cache:
            return cache[what]
        if what == signing.SECRET_PASSWORD:
            env = os.environ.get("COSIGN_PASSWORD")
            value = (
                env.encode("utf-8")
                if env is not None
                else _stdin_secret("Enter password for private key", confirm, "COSIGN_PASSWORD")
            )
        elif what == signing.SECRET_PKCS11_PIN:
            env = os.environ.get("COSIGN_PKCS11_PIN")
            value = (
                env.encode("utf-8")
                if env is not None
                else _stdin_secret("Enter PIN", False, "COSIGN_PKCS11_PIN")
            )
        elif what == signing.SECRET_VAULT_TOKEN:
            env = os.environ.get("VAULT_TOKEN") or os.environ.get("BAO_TOKEN")
            if not env:
                raise BackendUnavailable(
                    "no Vault token", hint="set VAULT_TOKEN (or BAO_TOKEN) in the environment"
                )
            value = env.encode("utf-8")
        else:
            raise InputError(f"no way to obtain the secret {what!r} from the command line")
        cache[what] = value
        return value

    return secrets


def backend_config() -> BackendConfig:
    """cosign's environment variables for KMS/HSM backends, as a frozen config."""
    from konflux_supply.signing import BackendConfig

    return BackendConfig(
        pkcs11_module_path=os.environ.get("COSIGN_PKCS11_MODULE_PATH") or None,
        vault_address=os.environ.get("VAULT_ADDR") or os.environ.get("BAO_ADDR") or None,
        vault_transit_path=os.environ.get("TRANSIT_SECRET_ENGINE_PATH") or "transit",
        vault_namespace=os.environ.get("VAULT_NAMESPACE") or None,
        # As the AWS SDKs: AWS_REGION first, then AWS_DEFAULT_REGION (boto3 reads only the latter).
        aws_region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None,
    )


def _signature_arg(value: str) -> bytes:
    """``--signature``: a file holding base64, or the base64 text itself."""
    # As cosign: a path that exists is read (a directory or an unreadable file is an error
    # naming it); only a path that does not exist is taken as the base64 text itself.
    is_file = os.path.lexists(value)
    text = read_bytes(value) if is_file else value.encode("utf-8")
    compact = b"".join(text.split())
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        if is_file:
            raise InputError(
                "the signature file is not valid base64", field="--signature", source=value
            ) from None
        raise InputError(
            f"{value!r} is neither an existing file nor valid base64", field="--signature"
        ) from None
    if not raw:
        raise InputError("the signature is empty", field="--signature")
    return raw


def _write_outputs(outputs: list[tuple[str | None, bytes, str]]) -> None:
    """Write the ``--output-*`` / ``--bundle`` files of one command together (all or none)."""
    chosen = [(path, data, what) for path, data, what in outputs if path]
    write_all_atomically([(path, data, 0o600) for path, data, _ in chosen])
    for path, _, what in chosen:
        click.echo(f"{what} written to {path}", err=True)


def _stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _key_option(help_text: str) -> Callable[[Any], Any]:
    return click.option("--key", "-k", "key", required=True, metavar="KEYREF", help=help_text)


@click.command("generate-key-pair", cls=_GoFlags)
@click.option(
    "--output-key-prefix", "-o", default="cosign", show_default=True, help="Write P.key and P.pub."
)
@click.option("--yes", "-y", is_flag=True, help="Overwrite existing key files.")
def generate_key_pair(output_key_prefix: str, yes: bool) -> None:
    """Generate an ECDSA P-256 key pair in cosign's format (password: COSIGN_PASSWORD)."""
    from konflux_supply import signing

    password = secrets_from_environment(confirm=True)(signing.SECRET_PASSWORD)
    pair = signing.generate_key_pair(password)
    key_path, pub_path = signing.write_key_pair(pair, output_key_prefix, overwrite=yes)
    click.echo(f"Private key written to {key_path}", err=True)
    click.echo(f"Public key written to {pub_path}", err=True)


@click.command("import-key-pair", cls=_GoFlags)
@_key_option("Unencrypted PEM private key (PKCS#1, SEC1 or PKCS#8) to import.")
@click.option("--output-key-prefix", "-o", default="import-cosign", show_default=True)
@click.option("--yes", "-y", is_flag=True, help="Overwrite existing key files.")
def import_key_pair(key: str, output_key_prefix: str, yes: bool) -> None:
    """Import a PEM private key as a cosign key pair (same rules as cosign)."""
    from konflux_supply import signing

    data = read_bytes(key)
    password = secrets_from_environment(confirm=True)(signing.SECRET_PASSWORD)
    pair = signing.import_key_pair(data, password, source=key)
    key_path, pub_path = signing.write_key_pair(pair, output_key_prefix, overwrite=yes)
    click.echo(f"Private key written to {key_path}", err=True)
    click.echo(f"Public key written to {pub_path}", err=True)


@click.command("public-key", cls=_GoFlags)
@_key_option("Key file, KMS/HSM URI or k8s://ns/secret.")
@click.option("--outfile", metavar="FILE", help="Write the PEM to FILE instead of stdout.")
def public_key(key: str, outfile: str | None) -> None:
    """Print the public key (PKIX PEM) of a KEYREF."""
    from konflux_supply import signing

    pem = signing.load_verifier(
        key, secrets=secrets_from_environment(), config=backend_config()
    ).public_key_pem()
    if outfile:
        write_atomically(outfile, pem, 0o644)
        click.echo(f"Public key written to {outfile}", err=True)
    else:
        _stdout(pem)


@click.command("sign-blob", cls=_GoFlags)
@_key_option("Key file, KMS/HSM URI or k8s://ns/secret.")
@click.option("--output-signature", metavar="FILE", help="Write the signature to FILE.")
@click.option("--bundle", "bundle_path", metavar="FILE", help="Also write a key-only v0.3 bundle.")
@click.option("--b64/--no-b64", default=True, show_default=True, help="Base64-encode the output.")
@click.option(
    "--tlog-upload/--no-tlog-upload",
    default=False,
    help="Not supported (no transparency log); accepted as false for cosign compatibility.",
)
@click.option("--yes", "-y", is_flag=True, help="Accepted for cosign compatibility.")
@click.argument("file", metavar="FILE")
def sign_blob(
    key: str,
    output_signature: str | None,
    bundle_path: str | None,
    b64: bool,
    tlog_upload: bool,
    yes: bool,
    file: str,
) -> None:
    """Sign a file; the signature (base64) goes to stdout."""
    from konflux_supply import signing

    if tlog_upload:
        raise InputError(
            "uploading to a transparency log is not supported",
            field="--tlog-upload",
            hint="pass --tlog-upload=false",
        )
    data = read_bytes(file)
    signer = signing.load_signer(key, secrets=secrets_from_environment(), config=backend_config())
    raw = signing.blob.sign_blob(data, signer)
    out = base64.b64encode(raw) if b64 else raw
    bundle = signing.bundle.message_signature_bundle(data, raw, signer) if bundle_path else b""
    _write_outputs([(bundle_path, bundle, "Bundle"), (output_signature, out, "Signature")])
    if not output_signature:
        _stdout(out + b"\n" if b64 else out)


@click.command("verify-blob", cls=_GoFlags)
@_key_option("Public key file, inline PEM, or any KEYREF.")
@click.option("--signature", metavar="SIG", help="Base64 signature or a file.")
@click.option(
    "--bundle",
    "bundle_path",
    metavar="FILE",
    help="A bundle instead of --signature: Sigstore v0.3, or cosign's older blob bundle.",
)
@click.option("--trusted-root", metavar="FILE", help="trusted_root.json for a bundle's tlog entry.")
@click.option(
    "--insecure-ignore-tlog/--no-insecure-ignore-tlog",
    default=False,
    help="Detached signatures are never checked in a tlog; a --bundle's entry is not checked.",
)
@click.argument("file", metavar="FILE")
def verify_blob(
    key: str,
    signature: str | None,
    bundle_path: str | None,
    trusted_root: str | None,
    insecure_ignore_tlog: bool,
    file: str,
) -> None:
    """Verify a detached signature or a bundle over a file ("Verified OK" on stderr)."""
    from konflux_supply import signing

    if (signature is None) == (bundle_path is None):
        raise InputError("pass one of --signature or --bundle", field="--signature")
    data = read_bytes(file)
    verifier = signing.load_verifier(
        key, secrets=secrets_from_environment(), config=backend_config()
    )
    if bundle_path is not None:
        root: Any = signing.bundle.UNSAFE_IGNORE_TLOG
        if trusted_root:
            root = signing.bundle.TrustedRoot.from_file(trusted_root)
        elif not insecure_ignore_tlog:
            raise InputError(
                "--trusted-root is required to check the bundle's transparency log entry",
                field="--trusted-root",
                hint="or pass --insecure-ignore-tlog for never-logged signatures",
            )
        verified = signing.bundle.verify_key_bundle(
            read_bytes(bundle_path), verifier, trusted_root=root, artifact=data, source=bundle_path
        )
        if verified.payload is not None:
            raise InputError(
                "the bundle holds an attestation, not a signature over FILE",
                field="--bundle",
                hint="use verify-bundle or verify-blob-attestation",
            )
        click.echo("Verified OK", err=True)
        return
    assert signature is not None
    raw = _signature_arg(signature)
    signing.blob.verify_blob(data, raw, verifier)
    if not insecure_ignore_tlog:
        click.echo("note: key-based signature; no transparency log was consulted", err=True)
    click.echo("Verified OK", err=True)


@click.command("attest-blob", cls=_GoFlags)
@_key_option("Key file, KMS/HSM URI or k8s://ns/secret.")
@click.option("--predicate", metavar="FILE", help="The predicate file.")
@click.option("--statement", metavar="FILE", help="A complete in-toto statement to sign as-is.")
@click.option("--type", "predicate_type", default="custom", show_default=True, metavar="TYPE")
@click.option("--output-signature", metavar="FILE", help="Write the envelope to FILE.")
@click.option("--output-attestation", metavar="FILE", help="Also write the statement to FILE.")
@click.option("--bundle", "bundle_path", metavar="FILE", help="Also write a key-only v0.3 bundle.")
@click.option("--tlog-upload/--no-tlog-upload", default=False, help="Not supported; see sign-blob.")
@click.option("--yes", "-y", is_flag=True, help="Accepted for cosign compatibility.")
@click.argument("file", metavar="[FILE]", required=False)
def attest_blob(
    key: str,
    predicate: str | None,
    statement: str | None,
    predicate_type: str,
    output_signature: str | None,
    output_attestation: str | None,
    bundle_path: str | None,
    tlog_upload: bool,
    yes: bool,
    file: str | None,
) -> None:
    """Attest to a file: a DSSE envelope (in-toto statement) on stdout.

    FILE is the artifact the statement is about (with --predicate). With --statement the
    statement is signed as it is and FILE is not needed; verify the envelope with
    verify-blob-attestation against the artifact the statement names, or with
    --check-claims=false for the signature only.
    """
    import json

    from konflux_supply import signing

    if tlog_upload:
        raise InputError("uploading to a transparency log is not supported", field="--tlog-upload")
    if (predicate is None) == (statement is None):
        raise InputError("one of --predicate or --statement must be set", field="--predicate")
    signer = signing.load_signer(key, secrets=secrets_from_environment(), config=backend_config())
    if statement is not None:
        payload = read_bytes(statement)
        try:
            parsed = json.loads(payload)
        except (ValueError, RecursionError):
            raise InputError("invalid statement: not JSON", source=statement) from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("predicateType"), str):
            raise InputError("invalid statement", field="predicateType", source=statement)
        envelope = signing.dsse.sign(payload, signer)
    else:
        if file is None:
            raise InputError("the file to attest to is required", field="FILE")
        blob = read_bytes(file)
        assert predicate is not None
        predicate_data = read_bytes(predicate)
        check_sbom_predicate(predicate_data, predicate, predicate_type)  # as `attest` does
        payload = signing.blob.blob_statement(
            blob, os.path.basename(file) or file, predicate_data, predicate_type
        )
        envelope = signing.dsse.sign(payload, signer)
    data = envelope.to_json()
    bundle = signing.bundle.dsse_bundle(envelope, signer) if bundle_path else b""
    _write_outputs(
        [
            (output_attestation, payload, "Attestation"),
            (bundle_path, bundle, "Bundle"),
            (output_signature, data, "Signature"),
        ]
    )
    if not output_signature:
        _stdout(data + b"\n")


def _envelope_arg(path: str) -> bytes:
    data = read_bytes(path)
    stripped = data.strip()
    if stripped[:1] == b"{":
        return stripped
    try:  # cosign also accepts the envelope base64-encoded
        return base64.b64decode(b"".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InputError("not a DSSE envelope (JSON or base64 JSON)", source=path) from None


@click.command("verify-blob-attestation", cls=_GoFlags)
@_key_option("Public key file, inline PEM, or any KEYREF.")
@click.option("--signature", required=True, metavar="FILE", help="The DSSE envelope file.")
@click.option("--type", "predicate_type", default="custom", show_default=True, metavar="TYPE")
@click.option(
    "--insecure-ignore-tlog/--no-insecure-ignore-tlog",
    default=False,
    help="Accepted for cosign compatibility (no transparency log is consulted).",
)
@click.option(
    "--check-claims/--no-check-claims",
    default=True,
    show_default=True,
    help="Check that the statement is about FILE and of --type (false: signature only, "
    "FILE not needed).",
)
@click.argument("file", metavar="[FILE]", required=False)
def verify_blob_attestation(
    key: str,
    signature: str,
    predicate_type: str,
    insecure_ignore_tlog: bool,
    check_claims: bool,
    file: str | None,
) -> None:
    """Verify a DSSE attestation about a file ("Verified OK" on stderr).

    FILE is the artifact the statement names as its subject (required unless
    --check-claims=false).
    """
    from konflux_supply import signing

    if check_claims and not file:
        raise InputError(
            "the artifact FILE is required: without it an attestation about any artifact "
            "would verify",
            field="FILE",
            hint="pass the file the statement is about, or --check-claims=false to check only "
            "the signature",
        )
    envelope = _envelope_arg(signature)
    blob = read_bytes(file) if file else None
    verifier = signing.load_verifier(
        key, secrets=secrets_from_environment(), config=backend_config()
    )
    try:
        signing.blob.verify_blob_attestation(
            envelope,
            blob,
            [verifier],
            predicate_type=predicate_type,
            source=signature,
            check_claims=check_claims,
        )
    except VerificationError as error:
        if "no subject" in error.message and error.hint is None:
            error.hint = (
                "FILE must be the artifact the statement is about (not the statement); "
                "--check-claims=false checks only the signature"
            )
        raise
    if not insecure_ignore_tlog:
        click.echo("note: key-based attestation; no transparency log was consulted", err=True)
    click.echo("Verified OK", err=True)


@click.command("verify-bundle", cls=_GoFlags)
@click.option("--bundle", "bundle_path", required=True, metavar="FILE", help="The bundle.")
@click.option("--key", "-k", "key", metavar="PUBREF", help="Public key (key-based bundles).")
@click.option("--certificate-identity", metavar="SAN", help="Exact signer identity (keyless).")
@click.option("--certificate-oidc-issuer", metavar="URL", help="Exact OIDC issuer (keyless).")
@click.option("--trusted-root", metavar="FILE", help="Sigstore trusted_root.json (offline).")
@click.option(
    "--insecure-ignore-tlog/--no-insecure-ignore-tlog",
    default=False,
    help="Key-based bundles only: skip the transparency log checks.",
)
@click.option(
    "--check-claims/--no-check-claims",
    default=True,
    show_default=True,
    help="Require FILE and check that the bundle is about it (false: signature only).",
)
@click.argument("file", metavar="FILE", required=False)
def verify_bundle(
    bundle_path: str,
    key: str | None,
    certificate_identity: str | None,
    certificate_oidc_issuer: str | None,
    trusted_root: str | None,
    insecure_ignore_tlog: bool,
    check_claims: bool,
    file: str | None,
) -> None:
    """Verify a Sigstore bundle offline (key-based, or keyless with an exact identity)."""
    from konflux_supply import signing

    if check_claims and not file:
        raise InputError(
            "the artifact FILE is required: without it an attestation about any artifact "
            "would verify",
            field="FILE",
            hint="pass the file the bundle is about, or --check-claims=false to check only "
            "the signature",
        )
    data = read_bytes(bundle_path)
    artifact = read_bytes(file) if file else None
    keyless = certificate_identity or certificate_oidc_issuer
    if key and keyless:
        raise InputError("--key cannot be combined with --certificate-identity/-oidc-issuer")
    if key:
        root = transparency_log(trusted_root, insecure_ignore_tlog, needed=True)
        assert root is not None
        verifier = signing.load_verifier(
            key, secrets=secrets_from_environment(), config=backend_config()
        )
        signing.bundle.verify_key_bundle(
            data,
            verifier,
            trusted_root=root,
            artifact=artifact,
            check_claims=check_claims,
            source=bundle_path,
        )
    elif keyless:
        if not (certificate_identity and certificate_oidc_issuer and trusted_root):
            raise InputError(
                "keyless verification needs --certificate-identity, --certificate-oidc-issuer "
                "and --trusted-root",
                field="--certificate-identity",
            )
        signing.bundle.verify_keyless_bundle(
            data,
            trusted_root=trusted_root,
            identity=certificate_identity,
            issuer=certificate_oidc_issuer,
            artifact=artifact,
            check_claims=check_claims,
            source=bundle_path,
        )
    else:
        raise InputError(
            "pass --key, or --certificate-identity and --certificate-oidc-issuer", field="--key"
        )
    click.echo("Verified OK", err=True)


#: Adds the key and blob commands to the CLI group.
register = registrar(
    generate_key_pair,
    import_key_pair,
    public_key,
    sign_blob,
    verify_blob,
    attest_blob,
    verify_blob_attestation,
    verify_bundle,
)
