"""`fluffy bench`: the speed suite (see suite.run_bench) and its human table."""

from fluffy_desktop.engine.bench.report import format_bench
from fluffy_desktop.engine.bench.suite import BENCH_KEYS, random_weights_clip, run_bench

__all__ = ["BENCH_KEYS", "format_bench", "random_weights_clip", "run_bench"]
