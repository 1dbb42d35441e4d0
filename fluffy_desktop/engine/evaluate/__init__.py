"""`fluffy eval pervl`: the PerVL retrieval protocol (see pervl.run_pervl)."""

from fluffy_desktop.engine.evaluate.pervl import METHODS, format_table, run_pervl

__all__ = ["METHODS", "format_table", "run_pervl"]
