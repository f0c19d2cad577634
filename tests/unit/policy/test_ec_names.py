"""The one table of ``ec.*`` names and argument counts matches the builtins we implement."""

from __future__ import annotations

from konflux_supply.policy._ec_names import EC_BUILTIN_ARITIES
from konflux_supply.policy.builtins import BuiltinContext, make_builtins


def test_the_offline_table_names_every_builtin_with_its_argument_count() -> None:
    with BuiltinContext() as ctx:
        implemented = {name: nargs for name, (nargs, _fn) in make_builtins(ctx).items()}
    assert implemented == dict(EC_BUILTIN_ARITIES)
