"""Benchmark runner (one JSON record per run, resumable, local processes or Ray) and
reports (Markdown table + heatmap)."""

from .report import summarise, write_report
from .runner import RESULTS_FILE, RunSpec, load_records, run_grid, run_one

__all__ = ["RESULTS_FILE", "RunSpec", "load_records", "run_grid", "run_one", "summarise",
           "write_report"]
