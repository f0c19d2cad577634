"""A regorus engine running our own Rego through the compatibility layer."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from konflux_supply.policy import _conformance, compat


def engine(
    modules: Mapping[str, str],
    *,
    builtins: Mapping[str, tuple[int, Callable[..., Any]]] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Any:
    """An engine with ``modules`` prepared by :func:`compat.prepare` and ``ec.*`` routed."""
    import regorus

    table = dict(builtins if builtins is not None else _conformance.offline_builtins())
    regorus_engine = regorus.Engine()
    for name, (nargs, function) in compat.extensions().items():
        regorus_engine.add_extension(name, nargs, function)
    for name, (nargs, function) in table.items():
        private = _conformance._PRIVATE + name.replace(".", "__")
        regorus_engine.add_extension(private, nargs, function)
    signatures = {name: nargs for name, (nargs, _fn) in table.items()}
    for path, text in compat.prepare(list(modules.items()), routed=signatures):
        regorus_engine.add_policy(path, text)
    for path, text in _conformance.ec_support_module(signatures):
        regorus_engine.add_policy(path, text)
    regorus_engine.add_data_json(json.dumps(dict(data or {})))
    return regorus_engine


def value(regorus_engine: Any, ref: str) -> Any:
    """The value of ``ref``; a ``KeyError`` when it is undefined."""
    answer = json.loads(regorus_engine.eval_query_as_json(f"x := {ref}"))
    results = answer.get("result") or []
    if not results:
        raise KeyError(ref)
    return results[0]["bindings"]["x"]


def prepared(text: str, path: str = "fixture.rego") -> str:
    """One module's text after :func:`compat.prepare`."""
    return dict(compat.prepare([(path, text)]))[path]
