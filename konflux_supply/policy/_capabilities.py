"""Static checks made when policies are loaded, before any evaluation.

* **Capabilities.** Like Conforma's strict capabilities, a policy may not reach the network or
  the host: calls to ``http.send``, ``net.lookup_ip_addr`` (any ``net.lookup_*``) and
  ``opa.runtime`` (which exposes the process environment in OPA) are refused with the file and
  line. ``with http.send as mock`` in a test is a reference, not a call, and stays allowed.
* **Recursion.** A function that calls itself, directly or through other functions, is
  refused: OPA refuses recursion at compile time, and regorus 0.13 crashes the process on it
  (SIGSEGV). The engine also survives such a crash (worker processes); this check only turns
  it into a clear load-time error.
* **Builtin names.** A custom builtin may not shadow a standard one (regorus would let
  ``sprintf`` be replaced) nor live in a standard builtin's namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from konflux_supply.errors import InputError
from konflux_supply.policy._types import Call, ParsedModule

#: Builtins a policy may not call: network or host access.
REFUSED_BUILTINS = frozenset({"http.send", "net.lookup_ip_addr", "opa.runtime"})
_REFUSED_PREFIXES = ("net.lookup_",)

#: Namespaces of OPA builtins that regorus lacks (still reserved for the standard library).
_OPA_ONLY_ROOTS = frozenset(
    {"crypto", "io", "rego", "providers", "graphql", "internal", "print", "http", "net", "opa"}
)


def _builtin_name(module: ParsedModule, call: Call) -> str | None:
    """The builtin a call names, or ``None`` when it is a call of a user function."""
    root = call.target[0]
    if root == "data" or root in module.imports:
        return None
    return ".".join(call.target)


def check_capabilities(parsed: Sequence[ParsedModule]) -> None:
    """Refuse calls of network and host builtins (``InputError`` naming file and line)."""
    for module in parsed:
        for rule in module.rules:
            for call in rule.calls:
                name = _builtin_name(module, call)
                if name is not None and (
                    name in REFUSED_BUILTINS or name.startswith(_REFUSED_PREFIXES)
                ):
                    raise InputError(
                        f"builtin {name} is not allowed: policies may not reach the network "
                        "or the host (as Conforma's capabilities)",
                        source=f"{module.module.path}:{call.line}",
                    )


def _resolve(module: ParsedModule, call: Call, functions: Mapping[str, object]) -> str | None:
    target = call.target
    if target[0] == "data":
        candidate = ".".join(target[1:])
    elif target[0] in module.imports:
        candidate = ".".join((*module.imports[target[0]][1:], *target[1:]))
    else:
        candidate = ".".join((*module.package, *target))
    return candidate if candidate in functions else None


def check_recursion(parsed: Sequence[ParsedModule]) -> None:
    """Refuse functions that call themselves, directly or through other functions."""
    where: dict[str, tuple[str, int]] = {}
    for module in parsed:
        for rule in module.rules:
            if rule.is_function:
                name = f"{module.package_name}.{rule.name}"
                where.setdefault(name, (module.module.path, rule.line))
    edges: dict[str, set[str]] = {name: set() for name in where}
    for module in parsed:
        for rule in module.rules:
            if not rule.is_function:
                continue
            caller = f"{module.package_name}.{rule.name}"
            for call in rule.calls:
                callee = _resolve(module, call, where)
                if callee is not None:
                    edges[caller].add(callee)
    cycle = _find_cycle(edges)
    if cycle:
        path, line = where[cycle[0]]
        through = " -> ".join(f"data.{name}" for name in (*cycle, cycle[0]))
        raise InputError(
            f"recursive function ({through}): OPA refuses recursion and regorus would crash",
            source=f"{path}:{line}",
        )


def _find_cycle(edges: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle of the call graph (iterative depth-first search), or ``None``."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(edges):
        if state.get(start):
            continue
        path: list[str] = [start]
        iterators = [iter(sorted(edges[start]))]
        state[start] = 1
        while iterators:
            node = next(iterators[-1], None)
            if node is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            if state.get(node) == 1:
                return path[path.index(node) :]
            if not state.get(node):
                state[node] = 1
                path.append(node)
                iterators.append(iter(sorted(edges.get(node, ()))))
    return None


def check_builtin_names(builtins: Mapping[str, int], standard: frozenset[str]) -> None:
    """Refuse custom builtins that would shadow (or share a namespace with) standard ones."""
    standard_roots = {name.split(".", 1)[0] for name in standard if "." in name} | _OPA_ONLY_ROOTS
    for name, nargs in builtins.items():
        segments = name.split(".")
        if name in standard or segments[0] in standard_roots or segments[0] in standard:
            raise InputError(
                "a custom builtin may not shadow a standard builtin or use its namespace",
                field=f"builtins.{name}",
            )
        if (
            len(segments) < 2
            or not all(segment.isidentifier() for segment in segments)
            or not isinstance(nargs, int)
            or nargs < 0
        ):
            raise InputError(
                "a custom builtin needs a dotted name (ns.name) and an argument count",
                field=f"builtins.{name}",
            )
