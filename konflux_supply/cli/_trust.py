"""What the command line trusts: keys and the transparency-log choice, decided in one place.

``--trusted-root FILE`` is always read when given (a path that cannot be used is bad input,
exit 2, never silently ignored) and wins; otherwise ``--insecure-ignore-tlog`` means
:data:`~konflux_supply.verify.UNSAFE_IGNORE_TLOG`; otherwise, where a log must be checked,
the command fails with one message naming both flags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from konflux_supply.errors import InputError

if TYPE_CHECKING:
    from konflux_supply.verify import TrustedRoot, UnsafeIgnoreTlog

__all__ = ["transparency_log"]


def transparency_log(
    trusted_root: str | None, ignore_tlog: bool, *, needed: bool
) -> TrustedRoot | UnsafeIgnoreTlog | None:
    """The transparency-log choice of ``--trusted-root`` / ``--insecure-ignore-tlog``;
    ``None`` only when no log check is ``needed`` and neither flag chose one."""
    from konflux_supply.verify import UNSAFE_IGNORE_TLOG, TrustedRoot

    if trusted_root:
        return TrustedRoot.from_file(trusted_root)
    if ignore_tlog:
        return UNSAFE_IGNORE_TLOG
    if needed:
        raise InputError(
            "checking the transparency log needs --trusted-root",
            field="--trusted-root",
            hint="or pass --insecure-ignore-tlog for never-logged signatures",
        )
    return None
