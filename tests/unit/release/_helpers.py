"""Shared helpers of the release unit tests."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

from konflux_supply.cli import main


def run_cli(*args: str) -> tuple[int, bytes, str]:
    """The CLI in-process: exit code, stdout bytes, stderr text."""
    out, err = io.BytesIO(), io.StringIO()
    wrapper = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    with redirect_stdout(wrapper), redirect_stderr(err):
        code = main(list(args))
    wrapper.flush()
    return code, out.getvalue(), err.getvalue()
