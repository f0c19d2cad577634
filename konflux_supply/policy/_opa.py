"""A remote OPA server as the engine, through ``opa-python-client``.

Policies go up once (``PUT /v1/policies/<id>``, several passes so that a module can use
functions of modules pushed after it), the data document once (``PUT /v1/data``), plus one
generated module ``konflux_supply_collect`` whose ``result`` gathers every package's deny/warn
rules, so an evaluation is one ``POST /v1/data/konflux_supply_collect/result``.

What it cannot do, by design: custom builtins (``ec.*``) are Python functions of this process,
so a policy that calls them is refused up front; the server's whole data document is replaced
(one engine per server at a time); the static checks (capabilities, recursion, parse errors)
are made locally with regorus before anything is pushed, so both engines refuse the same
policies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from konflux_supply.errors import BackendUnavailable, InputError, PolicyError
from konflux_supply.policy._regorus import (
    analyse,
    collected_packages,
    collection_query,
    merge_collected,
)
from konflux_supply.policy._types import Module, ParsedModule

_COLLECT_PACKAGE = "konflux_supply_collect"
_BUILTIN_ROOTS = ("ec",)


def _client(url: str, timeout: float, token: str | None) -> Any:
    try:
        from opa_client.opa import OpaClient
    except ImportError as error:  # pragma: no cover - the extra is installed in tests
        raise BackendUnavailable.missing_extra("opa", "opa-python-client") from error
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("expected http(s)://host[:port]", field="opa_url", source=url)
    port = parts.port or (443 if parts.scheme == "https" else 8181)
    return OpaClient(
        host=parts.hostname,
        port=port,
        ssl=parts.scheme == "https",
        token=token,
        timeout=timeout,
        retries=0,
    )


def _refuse_custom_builtins(parsed: Sequence[ParsedModule]) -> None:
    for module in parsed:
        for rule in module.rules:
            for call in rule.calls:
                if call.target[0] in _BUILTIN_ROOTS and call.target[0] not in module.imports:
                    raise InputError(
                        f"{'.'.join(call.target)} is a konflux-supply builtin: it runs only on "
                        "the embedded engine, not on a remote OPA server",
                        source=f"{module.module.path}:{call.line}",
                    )


def _policy_id(index: int, path: str) -> str:
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in path.rsplit("/", 1)[-1])
    return f"konflux_supply/{index:04d}_{name}"


class RemoteOpa:
    """The engine behind :class:`konflux_supply.policy.OpaEngine`."""

    def __init__(
        self,
        modules: Sequence[Module],
        data: Mapping[str, Any],
        *,
        url: str,
        timeout: float,
        token: str | None,
    ) -> None:
        parsed = analyse(modules, {})
        _refuse_custom_builtins(parsed)
        self.packages = collected_packages(parsed)
        self._url = url
        self._client = _client(url, timeout, token)
        collect = Module(
            "<konflux-supply collection>",
            f"package {_COLLECT_PACKAGE}\n\nresult := {collection_query(parsed)}\n",
        )
        self._ids: list[str] = []
        try:
            self._push_modules([*modules, collect])
            self._push_data(data)
        except BaseException:
            # A load that fails halfway (a module OPA refuses) must not leave the modules it
            # did push on the server, where they would poison the next load.
            self.close()
            raise

    def _fail(self, what: str, error: Exception) -> PolicyError:
        return PolicyError(f"OPA at {self._url}: {what}: {error}")

    def _push_modules(self, modules: Sequence[Module]) -> None:
        from opa_client.errors import RegoParseError

        pending = [(_policy_id(n, m.path), m) for n, m in enumerate(modules)]
        while pending:
            failed: list[tuple[str, Module, Exception]] = []
            for policy_id, module in pending:
                try:
                    self._client.update_policy_from_string(
                        module.text, policy_id, rego_compat=False
                    )
                    self._ids.append(policy_id)
                except RegoParseError as error:
                    failed.append((policy_id, module, error))
                except Exception as error:
                    raise self._fail("pushing policies failed", error) from error
            if len(failed) == len(pending):
                _, first, cause = failed[0]
                raise _compile_error(first, cause)
            pending = [(policy_id, module) for policy_id, module, _ in failed]

    def _push_data(self, data: Mapping[str, Any]) -> None:
        try:
            response = self._client._session.put(
                f"{self._client.root_url}/data",
                data=json.dumps(data),
                headers={"Content-Type": "application/json"},
                timeout=self._client.timeout,
            )
        except Exception as error:
            raise self._fail("pushing data failed", error) from error
        if response.status_code not in (200, 204):
            raise PolicyError(f"OPA at {self._url} refused the data (HTTP {response.status_code})")

    def _post(self, path: str, input: Any) -> Any:
        try:
            answer = self._client.query_rule({} if input is None else input, path)
        except Exception as error:
            raise self._fail("query failed", error) from error
        if not isinstance(answer, dict):
            raise PolicyError(f"OPA at {self._url}: unexpected answer to a query")
        return answer.get("result")

    def evaluate(self, input: Any) -> dict[str, dict[str, list[Any]]]:
        value = self._post(f"{_COLLECT_PACKAGE}.result", input)
        if not isinstance(value, dict):
            raise PolicyError(f"OPA at {self._url}: the collection query was undefined")
        return merge_collected(value)

    def query(self, ref: str, input: Any = None) -> Any:
        path = ref.removeprefix("data.")
        return self._post(path, input)

    def close(self) -> None:
        for policy_id in self._ids:
            try:
                self._client.delete_policy(policy_id)
            except Exception:
                continue
        self._ids = []
        self._client.close_connection()


def _compile_error(module: Module, error: Exception) -> InputError:
    errors = getattr(error, "errors", None) or []
    for item in errors:
        if isinstance(item, dict):
            row = (item.get("location") or {}).get("row", 0)
            return InputError(
                f"OPA refused the policy: {item.get('message', error)}",
                source=f"{module.path}:{row}",
            )
    return InputError(f"OPA refused the policy: {error}", source=f"{module.path}:0")
