"""Test helpers for the ``ec.*`` builtins: in-memory tar layers, a regorus engine wired to them.

The regorus wiring is a local stand-in for the engine helper's: each builtin is registered
under a private name and exposed through a Rego function that is *undefined* when the Python
function answers ``None`` (policies reach it with ``import data.ec``).
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable, Mapping
from typing import Any

import regorus


def tar_bytes(files: Mapping[str, bytes | None], *, compress: bool = False) -> bytes:
    """A tar archive of ``{name: content}`` (``None``: a directory), optionally gzipped."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if content is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    data = buffer.getvalue()
    return gzip.compress(data, mtime=0) if compress else data


def _shim_name(name: str) -> str:
    return "__" + name.replace(".", "_")


def shim_policy(builtins: Mapping[str, tuple[int, Callable[..., Any]]]) -> dict[str, str]:
    """Rego modules (path → text) defining ``data.ec.<pkg>.<fn>`` over the private names."""
    packages: dict[str, list[str]] = {}
    for name, (nargs, _) in builtins.items():
        package, function = name.rsplit(".", 1)
        params = ", ".join(f"a{i}" for i in range(nargs))
        packages.setdefault(package, []).append(
            f"{function}({params}) := x if {{\n"
            f"    x := {_shim_name(name)}({params})\n"
            "    x != null\n"
            "}\n"
        )
    return {
        f"{package}.rego": f"package {package}\n\nimport rego.v1\n\n" + "\n".join(rules)
        for package, rules in packages.items()
    }


def engine_with(builtins: Mapping[str, tuple[int, Callable[..., Any]]]) -> regorus.Engine:
    """A regorus engine with every builtin registered (``None`` → undefined via the shim)."""
    engine = regorus.Engine()
    for name, (nargs, function) in builtins.items():
        engine.add_extension(_shim_name(name), nargs, function)
    for path, text in shim_policy(builtins).items():
        engine.add_policy(path, text)
    return engine


def evaluate(engine: regorus.Engine, policy: str, query: str = "data.test") -> Any:
    """Add ``policy`` and return the value of ``query`` (``{}`` when it is undefined)."""
    engine.add_policy("test.rego", policy)
    result = engine.eval_query_as_json(query)
    values = json.loads(result)["result"]
    return values[0]["expressions"][0]["value"] if values else {}
