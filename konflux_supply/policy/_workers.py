"""Worker processes around regorus: a crash, a panic or a hang costs one evaluation, not the run.

regorus runs untrusted Rego in native code: a recursive function kills the process with SIGSEGV,
a Rust panic surfaces as ``PanicException`` (a ``BaseException``), and nothing bounds the time
an evaluation takes. Each worker is a spawned process that compiles the policy once and then
answers requests over a pipe. The calling side waits with a timeout; when the worker dies, hangs
or panics, that request raises :class:`PolicyError` (never a pass) and the worker is replaced
before the next request. Worker stdout is redirected to stderr (regorus prints diagnostics on
stdout, which would corrupt machine output).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any, Protocol

from konflux_supply.errors import InputError, KonfluxSupplyError, PolicyError
from konflux_supply.policy._regorus import Compiled, CompileSpec
from konflux_supply.policy._types import EngineResult

_START_TIMEOUT = 120.0
_BOOT = "from konflux_supply.policy._workers import main; main()"


class Pool(Protocol):
    def collect(
        self, input_json: str, context: Any, packages: frozenset[str] | None = None
    ) -> EngineResult: ...
    def query(self, ref: str, input_json: str | None, context: Any) -> Any: ...
    def close(self) -> None: ...


def make_pool(
    spec: CompileSpec, *, workers: int, timeout: float, memory_limit_mb: int | None
) -> Pool:
    """``workers`` processes, or evaluation in this process when ``workers`` is 0."""
    if workers < 0:
        raise InputError("workers must be 0 or more", field="workers")
    if timeout <= 0:
        raise InputError("timeout must be positive", field="timeout")
    if workers == 0:
        return InProcessPool(spec)
    return ProcessPool(spec, workers=workers, timeout=timeout, memory_limit_mb=memory_limit_mb)


class InProcessPool:
    """No isolation: one compiled engine per thread (regorus engines are unsendable)."""

    def __init__(self, spec: CompileSpec) -> None:
        self._spec = spec
        self._local = threading.local()
        self._compiled()  # compile errors surface now, in the caller's thread

    def _compiled(self) -> Compiled:
        compiled: Compiled | None = getattr(self._local, "compiled", None)
        if compiled is None:
            compiled = Compiled(self._spec)
            self._local.compiled = compiled
        return compiled

    def collect(
        self, input_json: str, context: Any, packages: frozenset[str] | None = None
    ) -> EngineResult:
        if packages is None:
            return self._compiled().collect(input_json, context)
        return self._compiled().collect_some(input_json, packages, context)

    def query(self, ref: str, input_json: str | None, context: Any) -> Any:
        return self._compiled().query(ref, input_json, context)

    def close(self) -> None:
        self._local = threading.local()


# --------------------------------------------------------------------------- worker side


def _encode_error(error: BaseException) -> tuple[str, str, str | None]:
    if isinstance(error, InputError):
        return ("input", error.message, error.source)
    if isinstance(error, KonfluxSupplyError):
        return ("policy", error.message, None)
    return ("policy", f"policy evaluation failed: {type(error).__name__}: {error}", None)


def _decode_error(encoded: tuple[str, str, str | None]) -> KonfluxSupplyError:
    kind, message, source = encoded
    if kind == "input":
        return InputError(message, source=source)
    return PolicyError(message)


def _context_errors(context: Any) -> list[Any]:
    """What the builtins recorded on the evaluation's context (``BuiltinContext.errors``).

    The context is a copy in the worker: the failures a builtin recorded there are sent back
    with the answer and appended to the caller's context, so ``ctx.unavailable`` in the
    calling process sees them (ADR 0058: fail closed on a registry that did not answer).
    """
    errors = getattr(context, "errors", None)
    return list(errors) if isinstance(errors, list) else []


def _run_tests(conn: Connection, spec: CompileSpec, refs: Sequence[str]) -> None:
    compiled = Compiled(spec)
    for ref in refs:
        start = time.perf_counter_ns()
        try:
            value = compiled.query(ref)
            conn.send(("test", ref, "value", value, time.perf_counter_ns() - start))
        except KonfluxSupplyError as error:
            conn.send(("test", ref, "error", error.message, time.perf_counter_ns() - start))


def main() -> None:
    """Entry point of a worker process: ``python -c '...main()' FD`` (FD: a connected socket)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(os.getppid())
    conn = Connection(int(sys.argv[1]))
    spec, memory_limit_mb = conn.recv()
    _serve(conn, spec, memory_limit_mb)


def _exit_with_parent(parent: int) -> None:
    """A worker busy in a long evaluation still goes away when its parent dies."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _serve(conn: Connection, spec: CompileSpec | None, memory_limit_mb: int | None) -> None:
    """The worker's main loop."""
    if memory_limit_mb:
        import resource

        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    compiled: Compiled | None = None
    try:
        compiled = Compiled(spec) if spec is not None else None
    except Exception as error:
        conn.send(("error", _encode_error(error)))
        return
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        kind, args = request
        try:
            if kind == "tests":
                _run_tests(conn, *args)
                conn.send(("ok", None))
                continue
            assert compiled is not None
            method: Callable[..., Any] = getattr(compiled, kind)
            context = args[-1]
            before = len(_context_errors(context))
            value = method(*args)
            conn.send(("ok", (value, _context_errors(context)[before:])))
        except Exception as error:
            conn.send(("error", _encode_error(error)))
        except BaseException as error:  # pyo3 PanicException derives from BaseException
            message = f"policy engine panicked: {type(error).__name__}: {error}"
            with contextlib.suppress(Exception):
                conn.send(("fatal", ("policy", message, None)))
            return  # the engine may be inconsistent now; the parent starts a new worker


# --------------------------------------------------------------------------- calling side


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class Worker:
    """One worker process, started on demand and replaced after a crash, panic or timeout."""

    def __init__(self, spec: CompileSpec | None, memory_limit_mb: int | None = None) -> None:
        self._spec = spec
        self._memory_limit_mb = memory_limit_mb
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._ready = False

    def start(self) -> None:
        # A plain subprocess rather than multiprocessing: spawn would re-import the caller's
        # __main__ (scripts without a __main__ guard would start workers recursively).
        parent, child = socket.socketpair()
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(entry for entry in sys.path if entry)
        with child:
            process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(child.fileno())],
                pass_fds=(child.fileno(),),
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # regorus prints diagnostics on stdout
            )
        conn = Connection(parent.detach())
        conn.send((self._spec, self._memory_limit_mb))
        self._process, self._conn, self._ready = process, conn, False

    def _wait_ready(self) -> Connection:
        if self._process is None or (self._ready and not self._alive()):
            if self._process is not None:
                self.stop()
            self.start()
        conn = self._conn
        assert conn is not None
        if not self._ready:
            if not conn.poll(_START_TIMEOUT):
                self.stop()
                raise PolicyError("the policy engine worker did not start in time")
            try:
                status, payload = conn.recv()
            except (EOFError, OSError):
                code = self._reap()
                raise PolicyError(f"the policy engine worker {_describe_exit(code)}") from None
            if status != "ready":
                self.stop()
                raise _decode_error(payload)
            self._ready = True
        return conn

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _reap(self) -> int | None:
        process = self._process
        if process is None:
            return None
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._conn is not None:
            self._conn.close()
        code: int | None = process.returncode
        self._process, self._conn, self._ready = None, None, False
        return code

    def stop(self) -> None:
        """Kill the process (used after a timeout and on close)."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
        self._reap()

    def close(self) -> None:
        process = self._process
        if self._conn is not None and process is not None and process.poll() is None:
            with contextlib.suppress(OSError):
                self._conn.send(None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=2)
        self.stop()

    def call(self, kind: str, args: tuple[Any, ...], timeout: float) -> Any:
        """Send one request and wait for its answer; any failure is a ``PolicyError``."""
        conn = self._wait_ready()
        try:
            conn.send((kind, args))
            status, payload = self._receive(conn, timeout)
        except KonfluxSupplyError:
            raise
        except BaseException:  # interrupted while waiting: its answer must not reach the next
            self.stop()
            raise
        if status == "ok":
            return payload
        if status == "fatal":
            self._reap()
        raise _decode_error(payload)

    def stream(self, kind: str, args: tuple[Any, ...], timeout: float) -> Iterator[Any]:
        """Send one request whose answer is several messages, then ``("ok", None)``."""
        conn = self._wait_ready()
        finished = False
        try:
            conn.send((kind, args))
            while True:
                message = self._receive(conn, timeout)
                if message[0] == "ok":
                    finished = True
                    return
                if message[0] in ("error", "fatal"):
                    finished = True
                    if message[0] == "fatal":
                        self._reap()
                    raise _decode_error(message[1])
                yield message
        finally:
            if not finished:  # abandoned or interrupted: drop the worker and its pending answers
                self.stop()

    def _receive(self, conn: Connection, timeout: float) -> Any:
        if not conn.poll(timeout):
            self.stop()
            raise PolicyError(f"policy evaluation timed out after {timeout:g} s")
        try:
            return conn.recv()
        except (EOFError, OSError):
            code = self._reap()
            raise PolicyError(f"the policy engine crashed ({_describe_exit(code)})") from None


class ProcessPool:
    """``workers`` processes, each with the policy compiled once; thread-safe."""

    def __init__(
        self, spec: CompileSpec, *, workers: int, timeout: float, memory_limit_mb: int | None
    ) -> None:
        self._timeout = timeout
        self._workers = [Worker(spec, memory_limit_mb) for _ in range(workers)]
        self._idle: queue.Queue[Worker] = queue.Queue()
        for worker in self._workers:
            worker.start()
        try:
            for worker in self._workers:
                worker._wait_ready()
        except BaseException:
            self.close()
            raise
        for worker in self._workers:
            self._idle.put(worker)

    def _call(self, kind: str, args: tuple[Any, ...]) -> Any:
        worker = self._idle.get()
        try:
            return worker.call(kind, args, self._timeout)
        finally:
            self._idle.put(worker)

    def _call_with_context(self, kind: str, args: tuple[Any, ...], context: Any) -> Any:
        value, recorded = self._call(kind, (*args, context))
        errors = getattr(context, "errors", None)
        if recorded and isinstance(errors, list):
            lock = getattr(context, "_lock", None)
            with lock if lock is not None else contextlib.nullcontext():
                errors.extend(recorded)
        return value

    def collect(
        self, input_json: str, context: Any, packages: frozenset[str] | None = None
    ) -> EngineResult:
        if packages is None:
            result: EngineResult = self._call_with_context("collect", (input_json,), context)
        else:
            result = self._call_with_context("collect_some", (input_json, packages), context)
        return result

    def query(self, ref: str, input_json: str | None, context: Any) -> Any:
        return self._call_with_context("query", (ref, input_json), context)

    def close(self) -> None:
        for worker in self._workers:
            worker.close()
