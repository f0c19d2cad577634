"""The folded engine of a policy: built once per worker, clock-dependent values refreshed.

See :mod:`konflux_supply.policy._fold` for what is folded and why; this module builds the
engine that reads the folded values (and the memo tables of :mod:`._memo`) and keeps
clock-dependent values fresh.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from konflux_supply.policy._fold import CLOCK_TTL, DATA_KEY, FoldedRule, FoldPlan

__all__ = ["Folder"]


class Folder:
    """Builds the folded engine from an unfolded one, and refolds clock-dependent values.

    ``build(texts, extra)`` must return a new engine with the same extensions, loaded with
    these module texts (same paths and order as the unfolded one) and the ``extra`` (path,
    text) modules, and no data; ``data_json`` is the policy's data. Anything that goes wrong
    while folding leaves the unfolded engine in use: slower, same answers.
    """

    def __init__(
        self,
        unfolded: Any,
        fold_plan: FoldPlan,
        texts: Sequence[str],
        data_json: str,
        build: Callable[[list[str], list[tuple[str, str]]], Any],
        clock: Callable[[], float],
    ) -> None:
        self._unfolded = unfolded
        self._data_json = data_json
        self._clock = clock
        self.engine: Any = unfolded
        self.rules: tuple[FoldedRule, ...] = ()
        self._shape: dict[str, tuple[bool, bool]] = {}
        self._folded_at = clock()
        found = _evaluate(unfolded, fold_plan)
        data, rules = found if found is not None else ({}, ())
        if not rules and not fold_plan.memo.sites:
            return
        try:
            engine = build(*fold_plan.apply(texts, data, rules))
            self._load(engine, data)
        except RuntimeError:
            return
        self.engine = engine
        self.rules = rules
        self._shape = _shape(data, rules)

    @property
    def clock_dependent(self) -> bool:
        return any(rule.clock for rule in self.rules)

    def _load(self, engine: Any, data: Mapping[str, Any]) -> None:
        engine.add_data_json(self._data_json)
        engine.add_data_json(_data_json(data))
        # clones of a prepared engine start prepared (see _regorus.Compiled)
        engine.eval_query_as_json("__konflux_warm := 1")

    def current(self) -> Any:
        """The engine to clone for the next evaluation (clock-dependent values refreshed
        when older than :data:`CLOCK_TTL`)."""
        if self.clock_dependent and self._clock() - self._folded_at > CLOCK_TTL:
            self._refresh()
        return self.engine

    def _refresh(self) -> None:
        found = _evaluate(self._unfolded, FoldPlan(self.rules))
        if found is not None and len(found[1]) == len(self.rules):
            data = found[0]
            if _shape(data, self.rules) == self._shape:
                try:
                    self.engine.clear_data()
                    self._load(self.engine, data)
                    self._folded_at = self._clock()
                    return
                except RuntimeError:
                    pass
        # the value changed shape, or could not be evaluated: run as written from now on
        self.engine = self._unfolded
        self.rules = ()


def _evaluate(
    engine: Any, fold_plan: FoldPlan
) -> tuple[dict[str, Any], tuple[FoldedRule, ...]] | None:
    if not fold_plan.rules:
        return None
    try:
        answer = json.loads(engine.clone().eval_query_as_json(fold_plan.query()))
        value = answer["result"][0]["bindings"]["__konflux_fold"]
        return fold_plan.values(value)
    except (RuntimeError, KeyError, IndexError, TypeError, ValueError):
        return None


def _shape(data: Mapping[str, Any], rules: Iterable[FoldedRule]) -> dict[str, tuple[bool, bool]]:
    """Per rule: (defined, a set) — what the rewritten definition was written for."""
    return {rule.key: (rule.key in data, bool(data.get(rule.key, {}).get("set"))) for rule in rules}


def _data_json(data: Mapping[str, Any]) -> str:
    return json.dumps({DATA_KEY: data}, separators=(",", ":"))
