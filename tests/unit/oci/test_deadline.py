"""The overall deadline and the retry messages (issue 10, item 7), without sockets."""

from __future__ import annotations

import time

import pytest
import requests

from konflux_supply.errors import RegistryError
from konflux_supply.oci import RegistryOptions, RetryPolicy
from konflux_supply.oci._http import HttpRegistry
from tests.unit.oci.scripted import Answer, ScriptedAdapter

HOST = "registry.test"
DIGEST = "sha256:" + "ab" * 32


def _silent(_seen: object) -> Answer:
    return Answer(error=requests.exceptions.ReadTimeout("Read timed out. (read timeout=60)"))


def test_each_retry_says_which_request_and_why() -> None:
    told: list[str] = []
    retry = RetryPolicy(attempts=3, backoff=0, on_retry=told.append)
    registry = HttpRegistry(
        HOST, RegistryOptions(retry=retry), adapter=ScriptedAdapter(_silent), sleep=lambda _: None
    )
    with pytest.raises(RegistryError, match="gave up after 3 attempts"):
        registry.get_manifest("team/app", DIGEST)
    assert len(told) == 2
    assert told[0].startswith(f"GET manifest team/app:{DIGEST} ({HOST}) failed: ")
    assert "timed out" in told[0]
    assert told[0].endswith("retrying (attempt 2 of 3)")


def test_a_deadline_that_has_passed_stops_the_retries_and_says_so() -> None:
    adapter = ScriptedAdapter(_silent)
    retry = RetryPolicy(attempts=5, backoff=10, deadline=time.monotonic() + 0.05)
    slept: list[float] = []
    registry = HttpRegistry(HOST, RegistryOptions(retry=retry), adapter=adapter, sleep=slept.append)
    with pytest.raises(RegistryError, match=r"timed out") as raised:
        registry.get_manifest("team/app", DIGEST)
    assert "--timeout" in (raised.value.hint or "")
    assert len(adapter.seen) < 5  # the backoff (5 s and more) would pass the deadline
    assert slept == []


def test_the_request_timeout_is_cut_to_what_the_deadline_leaves() -> None:
    timeouts: list[object] = []

    class Recording(ScriptedAdapter):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            timeouts.append(kwargs.get("timeout"))
            return super().send(request, **kwargs)

    retry = RetryPolicy(attempts=1, timeout=60, deadline=time.monotonic() + 5)
    registry = HttpRegistry(
        HOST, RegistryOptions(retry=retry), adapter=Recording(_silent), sleep=lambda _: None
    )
    with pytest.raises(RegistryError):
        registry.get_manifest("team/app", DIGEST)
    assert timeouts
    assert all(isinstance(t, float) and t <= 5 for t in timeouts)


def test_an_unresolvable_host_is_said_in_one_line() -> None:
    def unresolvable(_seen: object) -> Answer:
        return Answer(
            error=requests.exceptions.ConnectionError(
                "HTTPSConnectionPool(host='nope.invalid', port=443): Max retries exceeded with "
                'url: /v2/ (Caused by NameResolutionError("<urllib3.connection.HTTPSConnection '
                "object at 0x7f>: Failed to resolve 'nope.invalid'\"))"
            )
        )

    retry = RetryPolicy(attempts=2, backoff=0)
    registry = HttpRegistry(
        HOST,
        RegistryOptions(retry=retry),
        adapter=ScriptedAdapter(unresolvable),
        sleep=lambda _: None,
    )
    with pytest.raises(RegistryError) as raised:
        registry.get_manifest("team/app", DIGEST)
    summary = raised.value.summary()
    assert "the host name does not resolve" in summary
    assert "HTTPSConnectionPool" not in summary
    assert "Max retries" not in summary
