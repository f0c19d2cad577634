"""OPA-exact builtins of the compatibility layer, directly and through Rego of ours."""

from __future__ import annotations

import base64
import calendar
import datetime
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.policy import _compat_builtins, _compat_sprintf, compat
from tests.unit.policy._compat_helpers import engine, value

SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"ref": {"type": "string"}, "n": {"type": "integer", "minimum": 1}},
        "required": ["ref"],
        "additionalProperties": False,
    },
    "minItems": 1,
    "uniqueItems": True,
}


def _rego(expression: str) -> Any:
    source = f"package acme.b\n\nimport rego.v1\n\nresult := {expression}\n"
    return value(engine({"b.rego": source}), "data.acme.b.result")


def test_match_schema_errors_in_gojsonschema_shape() -> None:
    document = [{"ref": 1}, {"n": 0, "spam": True}, {"ref": 1}]
    ok, errors = _compat_builtins.OVERRIDES["json.match_schema"][1](document, SCHEMA)
    assert ok is False
    messages = {e["error"] for e in errors}
    assert messages == {
        "0.ref: Invalid type. Expected: string, given: integer",
        "1: ref is required",
        "1: Additional property spam is not allowed",
        "1.n: Must be greater than or equal to 1",
        "2.ref: Invalid type. Expected: string, given: integer",
        "(Root): array items[0,2] must be unique",
    }
    for error in errors:
        assert set(error) == {"error", "type", "field", "desc"}
        assert error["error"] == f"{error['field']}: {error['desc']}"


def test_match_schema_decodes_string_documents_and_schemas() -> None:
    document, schema = json.dumps(json.dumps([{"ref": "a"}])), json.dumps(json.dumps(SCHEMA))
    assert _rego(f"json.match_schema({document}, {schema})") == [True, []]
    answer = _rego(f'json.match_schema("[]", {json.dumps(SCHEMA)})')
    assert answer[1][0]["error"] == "(Root): Array must have at least 1 items"


def test_match_schema_resolves_embedded_ids_and_picks_gojsonschema_alternative() -> None:
    schema = {
        "type": "object",
        "properties": {"licence": {"$ref": "licences.schema.json"}},
        "$defs_elsewhere": {
            "x": {"$id": "http://acme.test/schema/licences.schema.json", "enum": ["MIT"]}
        },
        "$id": "http://acme.test/schema/root.schema.json",
    }
    match = _compat_builtins.OVERRIDES["json.match_schema"][1]
    assert match({"licence": "MIT"}, schema) == [True, []]
    assert (
        match({"licence": "GPL"}, schema)[1][0]["desc"]
        == 'licence must be one of the following: "MIT"'
    )
    either = {
        "anyOf": [{"type": "object", "properties": {"v": {"type": "string"}}}, {"type": "string"}]
    }
    # a type mismatch at the alternative's root scores lowest: the object branch is reported
    errors = match({"v": 1}, either)[1]
    assert [e["desc"] for e in errors] == [
        "Must validate at least one schema (anyOf)",
        "Invalid type. Expected: string, given: integer",
    ]


def test_verify_schema() -> None:
    verify = _compat_builtins.OVERRIDES["json.verify_schema"][1]
    assert verify(SCHEMA) == [True, None]
    assert verify(json.dumps(SCHEMA)) == [True, None]
    assert verify(1) == [False, "jsonschema: wrong type, expected string or object"]
    assert verify({"type": 12})[0] is False


def test_json_remove_takes_json_pointers_and_segment_arrays() -> None:
    document = {"a": {"b": 1, "c/d": 2}, "list": [0, 1, 2], "keep": True}
    assert _rego(f'json.remove({json.dumps(document)}, ["/a/b", "a/c~1d", ["list", "1"]])') == {
        "a": {},
        "list": [0, 2],
        "keep": True,
    }


def test_json_is_valid_and_unmarshal_follow_opa() -> None:
    assert _rego("json.is_valid(1)") is False
    assert _rego('json.is_valid("{")') is False
    assert _rego('json.is_valid("[1]")') is True
    assert _rego('json.unmarshal("null")') is None  # a defined null
    with pytest.raises(KeyError):
        _rego("json.unmarshal(null)")
    with pytest.raises(KeyError):
        _rego('json.unmarshal("{")')


@pytest.mark.parametrize(
    ("template", "args", "expected"),
    [
        ("%0.4d", [7], "0007"),
        ("%q", [1], "'\\x01'"),
        ("%q", [65], "'A'"),
        ("%q", ['a"b\n'], '"a\\"b\\n"'),
        ("%#v", ["x"], '"x"'),
        ("%v", [{"b": [1, 2.5], "a": None}], '{"a": null, "b": [1, 2.5]}'),
        ("%s", [True], "true"),
        ("%d", ["q"], "%!d(string=q)"),
        ("%v %v", [1.5, 100000000000000000000000.0], "1.5 1e+23"),
        ("%.2f|%5s|%-4d|", [3.14159, "ab", 7], "3.14|   ab|7   |"),
        ("%s", [], "%!s(MISSING)"),
        ("%x", [255], "ff"),
    ],
)
def test_sprintf_go_verbs(template: str, args: list[Any], expected: str) -> None:
    assert _compat_sprintf.sprintf(template, args) == expected


def test_sprintf_prints_sets_as_rego_does() -> None:
    assert (
        _rego('sprintf("%v|%v|%s", [{"b", "a"}, set(), {{"k": 1}}])')
        == '{"a", "b"}|set()|{{"k": 1}}'
    )


def _certificate() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "acme")])
    start = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(42)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(minutes=10))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier("https://acme.test/wf")]),
            False,
        )
        .add_extension(
            x509.UnrecognizedExtension(
                x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.4"), b"\x0c\x05build"
            ),
            False,
        )
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_x509_parse_certificates_in_go_shape() -> None:
    pem = _certificate()
    parsed = _compat_builtins.parse_certificates(pem)
    assert parsed is not None
    cert = parsed[0]
    assert cert["KeyUsage"] == 1
    assert cert["ExtKeyUsage"] == [3]
    assert cert["SerialNumber"] == 42
    assert cert["Subject"]["Organization"] == ["acme"]
    assert cert["NotBefore"] == "2025-01-02T03:04:05Z"
    assert cert["URIs"][0]["Host"] == "acme.test"
    assert cert["URIs"][0]["Path"] == "/wf"
    fulcio = [e for e in cert["Extensions"] if e["Id"] == [1, 3, 6, 1, 4, 1, 57264, 1, 4]]
    assert base64.b64decode(fulcio[0]["Value"]) == b"\x0c\x05build"
    # through Rego, as a policy reads it
    found = _rego(f"crypto.x509.parse_certificates({json.dumps(pem)})[0].ExtKeyUsage")
    assert found == [3]
    assert _compat_builtins.parse_certificates("not a certificate") is None


def test_time_and_number_errors_are_undefined() -> None:
    for expression in ('time.parse_rfc3339_ns("bad")', 'to_number("B")', "to_number([])"):
        with pytest.raises(KeyError):
            _rego(expression)
    assert _rego('time.parse_rfc3339_ns("2024-02-29T12:00:00.5+01:00")') == 1709204400500000000
    assert _rego('to_number("1.5")') == 1.5
    assert _rego("to_number(null)") == 0


@given(
    st.datetimes(min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31))
)
def test_parse_rfc3339_ns_agrees_with_the_calendar(moment: datetime.datetime) -> None:
    text = f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%S") + f".{moment.microsecond:06d}Z"
    expected = calendar.timegm(moment.timetuple()) * 10**9 + moment.microsecond * 1000
    assert _compat_builtins.parse_rfc3339_ns(text) == expected


@given(st.text(max_size=40))
def test_rfc3339_and_to_number_never_raise(text: str) -> None:
    _compat_builtins.parse_rfc3339_ns(text)
    number = _compat_builtins.to_number(text)
    assert number is None or isinstance(number, int | float)


@given(st.text(max_size=30), st.lists(st.integers() | st.text(max_size=5) | st.none(), max_size=4))
def test_sprintf_never_raises(template: str, args: list[Any]) -> None:
    assert isinstance(_compat_sprintf.sprintf(template, args), str)


def test_overrides_and_extensions_cover_the_same_builtins() -> None:
    names = set(compat.overrides())
    assert {"sprintf", "json.match_schema", "crypto.x509.parse_certificates"} <= names
    private = set(compat.extensions())
    assert all(name.startswith(compat.EXTENSION_PREFIX) for name in private)
    assert len(private) == len(names)
    boxed = compat.extensions()[compat.EXTENSION_PREFIX + "b__json__unmarshal"][1]
    assert boxed("null") == [None]
    assert boxed("{") == []


def test_untrusted_packages_from_conformance_results() -> None:
    results = [
        {"package": "acme.cats_test", "status": "pass"},
        {"package": "acme.cats_test", "status": "fail"},
        {"package": "dogs_test", "status": "error"},
        {"package": "birds_test", "status": "pass"},
    ]
    assert compat.untrusted_packages(results) == {"acme.cats", "dogs"}


def test_crypto_digests_missing_from_regorus() -> None:
    assert _rego('crypto.sha256("abc")') == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert _rego('crypto.md5("abc")') == "900150983cd24fb0d6963f7d28e17f72"
    assert _rego('crypto.hmac.sha256("abc", "key")') == (
        "9c196e32dc0175f86f4b1cb89289d6619de6bee699e4c378e68309ed97a1a6ab"
    )
    assert _rego('crypto.hmac.equal("a", "a")') is True
    with pytest.raises(KeyError):
        _rego("crypto.sha1(1)")


@pytest.mark.parametrize(
    ("template", "arg", "expected"),
    # OPA 1.4.2's answers (checked with `opa eval`): not a Unicode scalar value prints U+FFFD
    [
        ("%c", -1, "\ufffd"),
        ("%q", -1, "'\ufffd'"),
        ("%c", 0xD800, "\ufffd"),
        ("%c", 0x110000, "\ufffd"),
    ],
)
def test_sprintf_runes_outside_unicode_print_the_replacement_character(
    template: str, arg: int, expected: str
) -> None:
    assert _compat_sprintf.sprintf(template, [arg]) == expected
