"""``pkcs11:`` keys (HSMs, SoftHSM2) through python-pkcs11 (extra ``pkcs11``).

URI grammar as cosign (``pkg/cosign/pkcs11key/util.go``, RFC 7512 style)::

    pkcs11:token=<label>;slot-id=<n>;object=<label>;id=<%xx..>?module-path=<.so>&pin-value=<pin>

``;`` and ``&`` both separate attributes; one of ``token``/``slot-id`` and one of
``object``/``id`` is required; ``module-path`` falls back to
:attr:`BackendConfig.pkcs11_module_path` (the CLI: ``COSIGN_PKCS11_MODULE_PATH``) and the PIN to
``secrets(SECRET_PKCS11_PIN)`` (the CLI: ``COSIGN_PKCS11_PIN``).

Signing hashes on the client with the key's hash (many tokens, SoftHSM2 among them, lack
``CKM_ECDSA_SHA256``) and uses ``CKM_ECDSA`` (raw ``r||s``, converted to DER) or ``CKM_RSA_PKCS``
over a DER DigestInfo.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from konflux_supply.errors import BackendUnavailable, InputError
from konflux_supply.signing._keys import _pkcs1_to_spki, algorithm_name, check_key
from konflux_supply.signing._remote import RemoteSigner, raw_to_der

if TYPE_CHECKING:
    from konflux_supply.signing._protocols import BackendConfig, SecretsCallback

SCHEMES = ("pkcs11",)

_DIGEST_INFO = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
# (module, token serial) -> the PIN that logged this process in (PKCS#11 login is per process).
_LOGGED_IN: dict[tuple[str, Any], str] = {}
_CURVE_HASH = {"secp256r1": "sha256", "secp384r1": "sha384", "secp521r1": "sha512"}


@dataclass(frozen=True)
class Pkcs11Uri:
    """A parsed ``pkcs11:`` key reference."""

    module_path: str | None
    token: str | None
    slot_id: int | None
    object: str | None
    id: bytes | None
    pin: str | None = field(repr=False)

    @classmethod
    def parse(cls, uri: str) -> Pkcs11Uri:
        """Parse with cosign's rules; errors are :class:`InputError` on field ``key``."""
        if not uri.startswith("pkcs11:"):
            raise InputError("invalid uri: not a PKCS11 uri", field="key")
        rest = uri[len("pkcs11:") :].split("#", 1)[0]
        path, _, query = rest.partition("?")
        path_attrs = _parse_attrs(path)
        query_attrs = _parse_attrs(query)
        token = _text(path_attrs.get("token"))
        slot_text = _text(path_attrs.get("slot-id"))
        if not token and not slot_text:
            raise InputError("invalid uri: one of token and slot-id must be set", field="key")
        slot_id = None
        if slot_text:
            if not re.fullmatch(r"[+-]?[0-9]+", slot_text):
                raise InputError(
                    f"invalid uri: slot-id '{slot_text}' is not a valid number", field="key"
                )
            slot_id = int(slot_text)
        label = _text(path_attrs.get("object"))
        key_id = path_attrs.get("id") or None
        if not label and not key_id:
            raise InputError("invalid uri: one of object and id must be set", field="key")
        return cls(
            module_path=_text(query_attrs.get("module-path")) or None,
            token=token or None,
            slot_id=slot_id,
            object=label or None,
            id=key_id,
            pin=_text(query_attrs.get("pin-value")) or None,
        )


_PIN_VALUE = re.compile(r"(pin-value=)[^;&#]*")


def redacted(uri: str) -> str:
    """The URI with its ``pin-value`` hidden: fit for error messages and logs."""
    return _PIN_VALUE.sub(r"\1***", uri)


def _parse_attrs(text: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for part in re.split(r"[;&]", text):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = urllib.parse.unquote(name.replace("+", " "))
        try:
            raw = urllib.parse.unquote_to_bytes(value.replace("+", " "))
        except ValueError:  # pragma: no cover - unquote_to_bytes is lenient
            raise InputError(f"invalid uri: bad escape in {name}", field="key") from None
        out.setdefault(name, raw)  # Go's url.Values.Get returns the first value
    return out


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value else ""


def _import_pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:
        raise BackendUnavailable.missing_extra("pkcs11", "python-pkcs11") from None
    return pkcs11


class _Token:
    """An open, logged-in session on the token holding the key, and the key objects."""

    def __init__(self, uri: Pkcs11Uri, *, secrets: SecretsCallback | None, config: BackendConfig):
        from konflux_supply import signing

        pkcs11 = _import_pkcs11()
        module = uri.module_path or config.pkcs11_module_path
        if not module:
            raise InputError(
                "invalid uri: module-path or COSIGN_PKCS11_MODULE_PATH must be set to the "
                "absolute path of the PKCS11 module",
                field="key",
            )
        pin = uri.pin
        if pin is None and secrets is not None:
            pin = secrets(signing.SECRET_PKCS11_PIN).decode("utf-8")
        try:
            lib = pkcs11.lib(module)
            if uri.slot_id is not None:
                slots = [s for s in lib.get_slots(token_present=True) if s.slot_id == uri.slot_id]
                if not slots:
                    raise InputError(f"no token in slot {uri.slot_id}", field="key")
                token = slots[0].get_token()
                if uri.token and token.label != uri.token:
                    raise InputError(
                        f"the token in slot {uri.slot_id} is {token.label!r}, not {uri.token!r}",
                        field="key",
                    )
            else:
                token = lib.get_token(token_label=uri.token)
            place = (module, token.serial)
            try:
                self.session = token.open(user_pin=pin) if pin is not None else token.open()
                if pin is not None:
                    _LOGGED_IN[place] = pin
            except pkcs11.exceptions.UserAlreadyLoggedIn:
                # Login state belongs to the process: a session still open (another signer)
                # is logged in and new sessions share it. A different PIN than the one that
                # logged in is refused rather than silently accepted.
                if _LOGGED_IN.get(place, pin) != pin:
                    raise pkcs11.exceptions.PinIncorrect() from None
                self.session = token.open()
        except InputError:
            raise
        except pkcs11.exceptions.PinIncorrect:
            raise InputError("PKCS#11 login failed: incorrect PIN", field="key") from None
        except pkcs11.exceptions.NoSuchToken:
            raise InputError(f"no PKCS#11 token labelled {uri.token!r}", field="key") from None
        except (pkcs11.exceptions.PKCS11Error, OSError, RuntimeError) as error:
            raise BackendUnavailable(
                f"PKCS#11 module {module}: {type(error).__name__}: {error}"
            ) from None
        self.pkcs11 = pkcs11
        self.uri = uri

    def find(self, object_class: Any) -> Any | None:
        """The single object of ``object_class`` matching the URI's label/id, or None."""
        attrs: dict[Any, Any] = {self.pkcs11.Attribute.CLASS: object_class}
        if self.uri.object:
            attrs[self.pkcs11.Attribute.LABEL] = self.uri.object
        if self.uri.id:
            attrs[self.pkcs11.Attribute.ID] = self.uri.id
        found = list(self.session.get_objects(attrs))
        if len(found) > 1:
            raise InputError(
                f"the PKCS#11 URI matches {len(found)} objects; add id= or object=", field="key"
            )
        return found[0] if found else None


def _public_key(token: _Token) -> Any:
    pkcs11 = token.pkcs11
    ObjectClass, Attribute, KeyType = pkcs11.ObjectClass, pkcs11.Attribute, pkcs11.KeyType
    public = token.find(ObjectClass.PUBLIC_KEY)
    if public is not None:
        if public.key_type == KeyType.EC:
            from pkcs11.util.ec import encode_ec_public_key

            der = encode_ec_public_key(public)
        elif public.key_type == KeyType.RSA:
            from pkcs11.util.rsa import encode_rsa_public_key

            der = _pkcs1_to_spki(encode_rsa_public_key(public))
        else:
            raise InputError(f"unsupported PKCS#11 key type {public.key_type!r}", field="key")
        return serialization.load_der_public_key(der)
    cert = token.find(ObjectClass.CERTIFICATE)
    if cert is not None:
        from cryptography import x509

        return x509.load_der_x509_certificate(cert[Attribute.VALUE]).public_key()
    raise InputError(
        "the token has no public key or certificate object for this key (same id/label)",
        field="key",
    )


def _open(
    uri: str, secrets: SecretsCallback | None, config: BackendConfig, *, need_private: bool
) -> tuple[_Token, Any, Any]:
    parsed = Pkcs11Uri.parse(uri)
    token = _Token(parsed, secrets=secrets, config=config)
    try:
        private = token.find(token.pkcs11.ObjectClass.PRIVATE_KEY) if need_private else None
        if need_private and private is None:
            raise InputError("no private key on the token matches the URI", field="key")
        public = _public_key(token)
        check_key(public, source=redacted(uri))
    except BaseException:
        token.session.close()
        raise
    return token, private, public


def signer_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> RemoteSigner:
    """A signer for a ``pkcs11:`` URI (the session stays open for the signer's lifetime)."""
    token, private, public = _open(uri, secrets, config, need_private=True)
    mechanism = token.pkcs11.Mechanism
    if isinstance(public, ec.EllipticCurvePublicKey):
        hash_name = _CURVE_HASH[public.curve.name]

        def sign_digest(value: bytes, data: bytes) -> bytes:
            return raw_to_der(bytes(private.sign(value, mechanism=mechanism.ECDSA)))

    elif isinstance(public, rsa.RSAPublicKey):
        hash_name = "sha256"

        def sign_digest(value: bytes, data: bytes) -> bytes:
            return bytes(
                private.sign(_DIGEST_INFO[hash_name] + value, mechanism=mechanism.RSA_PKCS)
            )

    else:
        token.session.close()
        raise InputError("PKCS#11 keys must be ECDSA or RSA", field="key")

    def guarded(value: bytes, data: bytes) -> bytes:
        try:
            return sign_digest(value, data)
        except token.pkcs11.exceptions.PKCS11Error as error:
            raise BackendUnavailable(f"PKCS#11 signing failed: {type(error).__name__}") from None

    signer = RemoteSigner(
        public,
        hash_name=hash_name,
        describe=f"PKCS#11 key {token.uri.object or token.uri.id!r}",
        sign_digest=guarded,
        algorithm=algorithm_name(public),
    )
    signer._session = token.session  # type: ignore[attr-defined]  # keeps the session open
    return signer


def verifier_from_uri(uri: str, *, secrets: SecretsCallback | None, config: BackendConfig) -> Any:
    """A verifier for a ``pkcs11:`` URI: the token's public key, checked locally."""
    from konflux_supply.signing._keys import KeyVerifier

    token, _, public = _open(uri, secrets, config, need_private=False)
    token.session.close()
    return KeyVerifier(public, source=redacted(uri))
