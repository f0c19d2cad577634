"""A certificate as Go's ``encoding/json`` prints ``x509.Certificate`` (what OPA returns).

Byte slices are standard base64, OIDs arrays of integers, times RFC 3339 in UTC, nil slices
``null``. Only the fields policies read are filled with care (``Subject``, ``Issuer``,
``Extensions``, SANs, validity, serial); the rest follow Go's zero values.
"""

from __future__ import annotations

import base64
from typing import Any

_NAME_FIELDS = {
    "2.5.4.6": "Country",
    "2.5.4.10": "Organization",
    "2.5.4.11": "OrganizationalUnit",
    "2.5.4.7": "Locality",
    "2.5.4.8": "Province",
    "2.5.4.9": "StreetAddress",
    "2.5.4.17": "PostalCode",
}


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _oid(dotted: str) -> list[int]:
    return [int(part) for part in dotted.split(".")]


def _time(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _name(name: Any) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(_NAME_FIELDS.values())
    out.update({"SerialNumber": "", "CommonName": "", "Names": [], "ExtraNames": None})
    for attribute in name:
        dotted = attribute.oid.dotted_string
        value = attribute.value if isinstance(attribute.value, str) else attribute.value.decode()
        out["Names"].append({"Type": _oid(dotted), "Value": value})
        if dotted in _NAME_FIELDS:
            field = _NAME_FIELDS[dotted]
            out[field] = [*(out[field] or []), value]
        elif dotted == "2.5.4.3":
            out["CommonName"] = value
        elif dotted == "2.5.4.5":
            out["SerialNumber"] = value
    return out


def _uri(text: str) -> dict[str, Any]:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    return {
        "Scheme": parts.scheme,
        "Opaque": "",
        "User": None,
        "Host": parts.netloc,
        "Path": parts.path,
        "RawPath": "",
        "OmitHost": False,
        "ForceQuery": False,
        "RawQuery": parts.query,
        "Fragment": parts.fragment,
        "RawFragment": "",
    }


_KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)

#: Go's ``x509.ExtKeyUsage`` numbers by OID.
_EXT_KEY_USAGE = {
    "2.5.29.37.0": 0,
    "1.3.6.1.5.5.7.3.1": 1,
    "1.3.6.1.5.5.7.3.2": 2,
    "1.3.6.1.5.5.7.3.3": 3,
    "1.3.6.1.5.5.7.3.4": 4,
    "1.3.6.1.5.5.7.3.5": 5,
    "1.3.6.1.5.5.7.3.6": 6,
    "1.3.6.1.5.5.7.3.7": 7,
    "1.3.6.1.5.5.7.3.8": 8,
    "1.3.6.1.5.5.7.3.9": 9,
}


def _key_usage(value: Any) -> int:
    bits = 0
    for index, name in enumerate(_KEY_USAGE_BITS):
        try:
            if getattr(value, name):
                bits |= 1 << index
        except ValueError:  # encipher_only / decipher_only without key_agreement
            continue
    return bits


def _usage_fields(cert: Any) -> dict[str, Any]:
    from cryptography import x509

    out: dict[str, Any] = {
        "KeyUsage": 0,
        "ExtKeyUsage": None,
        "UnknownExtKeyUsage": None,
        "BasicConstraintsValid": False,
        "IsCA": False,
        "MaxPathLen": -1,
        "MaxPathLenZero": False,
        "SubjectKeyId": None,
        "AuthorityKeyId": None,
    }
    for extension in cert.extensions:
        value = extension.value
        if isinstance(value, x509.KeyUsage):
            out["KeyUsage"] = _key_usage(value)
        elif isinstance(value, x509.ExtendedKeyUsage):
            known = [
                _EXT_KEY_USAGE[o.dotted_string] for o in value if o.dotted_string in _EXT_KEY_USAGE
            ]
            unknown = [
                _oid(o.dotted_string) for o in value if o.dotted_string not in _EXT_KEY_USAGE
            ]
            out["ExtKeyUsage"] = known or None
            out["UnknownExtKeyUsage"] = unknown or None
        elif isinstance(value, x509.BasicConstraints):
            out["BasicConstraintsValid"] = True
            out["IsCA"] = value.ca
            out["MaxPathLen"] = -1 if value.path_length is None else value.path_length
            out["MaxPathLenZero"] = value.path_length == 0
        elif isinstance(value, x509.SubjectKeyIdentifier):
            out["SubjectKeyId"] = _b64(value.digest)
        elif isinstance(value, x509.AuthorityKeyIdentifier):
            out["AuthorityKeyId"] = _b64(value.key_identifier)
    return out


def go_certificate(cert: Any) -> dict[str, Any]:
    """The JSON object OPA gives for one ``cryptography`` certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    dns: list[str] | None = None
    emails: list[str] | None = None
    uris: list[dict[str, Any]] | None = None
    ips: list[str] | None = None
    extensions = []
    for extension in cert.extensions:
        extensions.append(
            {
                "Id": _oid(extension.oid.dotted_string),
                "Critical": extension.critical,
                "Value": _b64(extension.value.public_bytes()),
            }
        )
        if isinstance(extension.value, x509.SubjectAlternativeName):
            dns = extension.value.get_values_for_type(x509.DNSName) or None
            emails = extension.value.get_values_for_type(x509.RFC822Name) or None
            found = extension.value.get_values_for_type(x509.UniformResourceIdentifier)
            uris = [_uri(u) for u in found] or None
            ips = [str(ip) for ip in extension.value.get_values_for_type(x509.IPAddress)] or None
    public = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "Raw": _b64(cert.public_bytes(serialization.Encoding.DER)),
        "RawTBSCertificate": _b64(cert.tbs_certificate_bytes),
        "RawSubjectPublicKeyInfo": _b64(public),
        "RawSubject": _b64(cert.subject.public_bytes()),
        "RawIssuer": _b64(cert.issuer.public_bytes()),
        "Signature": _b64(cert.signature),
        "Version": cert.version.value + 1,
        "SerialNumber": cert.serial_number,
        "Issuer": _name(cert.issuer),
        "Subject": _name(cert.subject),
        "NotBefore": _time(cert.not_valid_before_utc),
        "NotAfter": _time(cert.not_valid_after_utc),
        "Extensions": extensions or None,
        "ExtraExtensions": None,
        "UnhandledCriticalExtensions": None,
        "DNSNames": dns,
        "EmailAddresses": emails,
        "IPAddresses": ips,
        "URIs": uris,
        **_usage_fields(cert),
    }
