"""The release gate's policy side: sources, engines, configuration, reports.

Sources (:mod:`.sources`): fetch, pin and cache policy and data sources; read Rego modules;
merge data documents; push OCI policy bundles.
"""

from __future__ import annotations

from konflux_supply.policy.sources import (
    FetchedSource,
    SourceCache,
    SourceUrl,
    load_data,
    merge_data,
    parse_source_url,
    push_bundle,
    read_modules,
)

__all__ = [
    "FetchedSource",
    "SourceCache",
    "SourceUrl",
    "load_data",
    "merge_data",
    "parse_source_url",
    "push_bundle",
    "read_modules",
]
