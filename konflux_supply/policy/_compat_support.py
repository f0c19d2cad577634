"""The ``konflux_compat`` support package that rewritten modules call (see ``compat``).

It fronts the Python overrides (private extensions answering ``[value]`` or ``[]`` for
undefined) and guards the builtins regorus aborts on for operands of the wrong type, where OPA's
default (non-strict) mode answers undefined.
"""

from __future__ import annotations

from collections.abc import Mapping

SUPPORT_PACKAGE = "konflux_compat"


#: ``sprintf`` calls with a literal format of up to this many plain ``%s``/``%v`` verbs get a
#: fast path (see ``_compat_rewrite._string_verbs``).
SPRINTF_STRINGS_MAX = 6


def sprintf_strings(count: int) -> str:
    """The support rule for a literal ``sprintf`` format with ``count`` string verbs."""
    return f"b__sprintf_s{count}"


def mangle(name: str) -> str:
    """``json.match_schema`` → ``b__json__match_schema`` (a rule name in the support package)."""
    return "b__" + name.replace(".", "__")


#: Standard builtins that regorus aborts on for operands of the wrong type, where OPA (not
#: strict) answers undefined: ``name → (nargs, Rego condition on a0, a1, ...)``.
GUARDS: dict[str, tuple[int, str]] = {
    "array.concat": (2, "is_array(a0)\n\tis_array(a1)"),
    "concat": (2, "is_string(a0)\n\t_strings(a1)"),
    "object.get": (3, "is_object(a0)"),
    "object.keys": (1, "is_object(a0)"),
    "object.remove": (2, "is_object(a0)"),
    "object.union": (2, "is_object(a0)\n\tis_object(a1)"),
    "regex.match": (2, "is_string(a0)\n\tis_string(a1)"),
    "regex.split": (2, "is_string(a0)\n\tis_string(a1)"),
    "trim_space": (1, "is_string(a0)"),
}

#: The support function ``some x in E`` is rewritten to go through.
COLLECTION = "collection"
#: ``some x in walk(y)``: the elements of every pair ``walk`` yields.
WALK_ELEMENTS = "walk_elements"

_JSON_ARGS = {"json.remove"}
_JSON_TEXT_ARGS = {"json.match_schema", "json.verify_schema"}


def support_module(overrides: Mapping[str, int], private_prefix: str) -> str:
    """The support package: Python-backed builtins (``[value]`` / ``[]``) and type guards."""
    lines = [f"package {SUPPORT_PACKAGE}", "", "import rego.v1", ""]
    for name, nargs in sorted(overrides.items()):
        args = [f"a{i}" for i in range(nargs)]
        if name == "sprintf":
            passed = ["a0", "[_arg(x) | some x in a1]"]
            call = f"{private_prefix}b__sprintf({', '.join(passed)})[0]"
            lines.append(f"b__sprintf(a0, a1) := {call} if is_array(a1)")
            # all-string arguments: regorus' own sprintf is Go's for %s/%v; else the override
            for count in range(1, SPRINTF_STRINGS_MAX + 1):
                checks = "".join(f"\n\tis_string(a1[{i}])" for i in range(count))
                lines.append(
                    f"{sprintf_strings(count)}(a0, a1) := sprintf(a0, a1) if {{{checks}\n}}"
                    " else := b__sprintf(a0, a1)"
                )
            continue
        passed = [f"_plain({a})" for a in args] if name in _JSON_ARGS else args
        if name in _JSON_TEXT_ARGS:
            passed = [f"_text({a})" for a in args]
        lines.append(
            f"{mangle(name)}({', '.join(args)}) := "
            f"{private_prefix}{mangle(name)}({', '.join(passed)})[0]"
        )
    for name, (nargs, condition) in sorted(GUARDS.items()):
        listed = ", ".join(f"a{i}" for i in range(nargs))
        lines.append(f"{mangle(name)}({listed}) := {name}({listed}) if {{\n\t{condition}\n}}")
    lines += [
        '_arg(x) := {"__konflux_set__": [y | some y in x]} if is_set(x)',
        "else := x",
        "",
        "_text(x) := x if is_string(x)",
        "else := json.marshal(x)",
        "",
        "_plain(x) := [y | some y in x] if is_set(x)",
        "else := x",
        "",
        "_strings(x) if {",
        "\tnot is_string(x)",
        "\tnot is_number(x)",
        "\tnot is_boolean(x)",
        "\tnot is_null(x)",
        "\tnot is_object(x)",
        "\tevery y in x { is_string(y) }",
        "}",
        "",
        f"{WALK_ELEMENTS}(x) := [e | walk(x, pair); some e in pair]",
        "",
        f"{COLLECTION}(x) := x if is_array(x)",
        "else := x if is_object(x)",
        "else := x if is_set(x)",
    ]
    return "\n".join(lines) + "\n"
