"""Builtins factories for the engine tests: module-level, so worker processes can import them."""

from __future__ import annotations

import time
from typing import Any

from konflux_supply.policy import BuiltinFunction


def echo_builtins(context: Any) -> dict[str, BuiltinFunction]:
    """``test.echo(x)``: ``None`` (undefined) for ``"none"``, else ``{"x": x, "ctx": context}``."""

    def echo(value: Any) -> Any:
        return None if value == "none" else {"x": value, "ctx": context}

    return {"test.echo": (1, echo)}


def sleepy_builtins(context: Any) -> dict[str, BuiltinFunction]:
    """``test.sleep(s)`` sleeps ``s`` seconds and returns true (to hang an evaluation)."""

    def sleep(seconds: float) -> bool:
        time.sleep(seconds)
        return True

    return {"test.sleep": (1, sleep)}


def panicking_builtins(context: Any) -> dict[str, BuiltinFunction]:
    """``test.panic(x)`` raises a genuine pyo3 PanicException inside the engine."""

    def panic(_value: Any) -> Any:
        raise _panic_exception()("boom from a test builtin")

    return {"test.panic": (1, panic)}


def _panic_exception() -> type[BaseException]:
    """pyo3's PanicException class, obtained by provoking one (an engine used off-thread)."""
    import threading

    import regorus

    engine = regorus.Engine()  # owned (and later dropped) by this thread
    caught: list[type[BaseException]] = []

    def misuse() -> None:
        try:
            engine.clone()
        except BaseException as error:  # PanicException derives from BaseException
            caught.append(type(error))

    thread = threading.Thread(target=misuse)
    thread.start()
    thread.join()
    assert caught, "expected a PanicException"
    return caught[0]


def shadowing_builtins(context: Any) -> dict[str, BuiltinFunction]:
    """A builtin that would replace ``sprintf``."""
    return {"sprintf": (2, lambda fmt, args: "x")}
