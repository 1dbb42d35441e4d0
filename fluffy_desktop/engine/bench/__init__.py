"""`fluffy bench`: the speed suite (suite.run_bench) and its human table (report.format_bench).

Nothing is imported here: the cold-start process runs `python -m …bench.cold`, which imports
this package first and must not pay for the suite's imports (open_clip among them)."""
