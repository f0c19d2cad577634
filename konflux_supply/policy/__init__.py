"""Release policy. The OPA/Conforma compatibility layer is ``konflux_supply.policy.compat``."""
