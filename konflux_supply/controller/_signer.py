"""The one place that knows :func:`konflux_supply.chains.sign_run`'s signature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from konflux_supply import chains, oci, publish
from konflux_supply.oci import AppendLock, AppendPolicy, Registry, RegistryPool
from konflux_supply.signing import Signer

__all__ = ["ChainsSigner"]


class ChainsSigner:
    """``sign(run, children)`` for the controller: :func:`konflux_supply.chains.sign_run`
    with one :class:`~konflux_supply.chains.Config`, a shared registry pool and signer
    cache, and appends serialised through ``append_lock`` (e.g. a
    :class:`~konflux_supply.controller.LeaseAppendLock`, shared by every replica)."""

    def __init__(
        self,
        config: chains.Config,
        *,
        registry: Registry | RegistryPool | None = None,
        signer: Signer | chains.Signers | None = None,
        append_lock: AppendLock | None = None,
        registry_options: oci.RegistryOptions | None = None,
    ) -> None:
        self.config = config
        self.registry = registry if registry is not None else RegistryPool(registry_options)
        self.signer = signer if signer is not None else chains.Signers()
        policy = AppendPolicy(lock=append_lock) if append_lock is not None else AppendPolicy()
        self.publish_options = publish.PublishOptions(policy=policy)

    def __call__(
        self, run: Mapping[str, Any], children: Sequence[Mapping[str, Any]]
    ) -> chains.SignOutcome:
        return chains.sign_run(
            run,
            self.config,
            children=children,
            registry=self.registry,
            signer=self.signer,
            publish_options=self.publish_options,
        )

    def close(self) -> None:
        if isinstance(self.registry, RegistryPool):
            self.registry.close()
