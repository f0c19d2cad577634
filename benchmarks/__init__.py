"""Benchmarks: throughput and ratios against a baseline measured in the same run.

Run all with ``python -m benchmarks`` (or ``make bench``); one with ``python -m benchmarks
provenance``. Each ``bench_<name>.py`` module defines ``run(quick: bool) -> list[Result]``.
Numbers are CPU-time based (``time.process_time``) so that a noisy shared machine skews them
less; every figure is reported next to its baseline from the same process and the same inputs.
Benchmarks never assert: they report.
"""
