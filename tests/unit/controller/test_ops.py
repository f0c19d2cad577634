"""JSON logs and metrics without a server."""

from __future__ import annotations

import json
import logging

from konflux_supply import controller


def test_json_log_lines_carry_extra_fields() -> None:
    record = logging.makeLogRecord(
        {
            "name": "konflux_supply.controller",
            "levelname": "INFO",
            "msg": "signed %s",
            "args": ("x",),
            "run": "taskruns/a/b",
            "shard": 3,
        }
    )
    line = json.loads(controller.JsonFormatter().format(record))
    assert line["msg"] == "signed x"
    assert line["run"] == "taskruns/a/b"
    assert line["shard"] == 3
    assert line["level"] == "info"


def test_metrics_exposition() -> None:
    metrics = controller.Metrics()
    metrics.count_call("get", "taskruns", 200)
    metrics.count_call("get", "taskruns", 500)
    metrics.observe_queue({"fresh": 3})
    text = metrics.exposition().decode()
    assert (
        'konflux_supply_controller_api_calls_total{code="500",resource="taskruns",verb="get"} 1.0'
        in text
    )
    assert 'konflux_supply_controller_queue_depth{state="fresh"} 3.0' in text
    assert metrics.calls() == {("get", "taskruns"): 2}
