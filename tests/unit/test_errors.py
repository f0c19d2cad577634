from __future__ import annotations

import pytest

from konflux_supply.errors import (
    BackendUnavailable,
    InputError,
    KonfluxSupplyError,
    PolicyError,
    RegistryError,
    VerificationError,
    field_path,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InputError("x"), 2),
        (VerificationError("x"), 1),
        (RegistryError("x"), 3),
        (BackendUnavailable("x"), 3),
        (PolicyError("x"), 3),
    ],
)
def test_exit_codes_follow_blame(error: KonfluxSupplyError, code: int) -> None:
    assert error.exit_code == code
    assert isinstance(error, KonfluxSupplyError)


def test_input_error_names_source_and_field() -> None:
    error = InputError("digest must be sha256", field="status.results[1].value", source="run.json")
    assert error.summary() == "run.json: status.results[1].value: digest must be sha256"
    assert "invalid input" in error.diagnostics()


def test_registry_error_names_status_and_url() -> None:
    error = RegistryError("cannot read manifest", status=503, url="https://r.example/v2/x")
    assert error.summary() == "cannot read manifest (HTTP 503) at https://r.example/v2/x"


def test_missing_extra_says_how_to_install() -> None:
    error = BackendUnavailable.missing_extra("awskms", "boto3")
    assert 'pip install "konflux-supply[awskms]"' in error.diagnostics()


def test_field_path_joins_names_and_indexes() -> None:
    assert field_path("status", "steps", 2, "imageID") == "status.steps[2].imageID"
    assert field_path(0, "name") == "[0].name"
