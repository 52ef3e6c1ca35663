"""Write docs/reliability.md: every bad-input and fault case of tests/test_reliability.py with
what mmgap does now (the first line of its error, or its answer).

Usage:
    python benchmarks/reliability_table.py [--out docs/reliability.md]
"""

import argparse
import importlib.util
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs" / "reliability.md"))
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("reliability_cases", ROOT / "tests" / "test_reliability.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import warnings

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        rows = mod.run_all(Path(tmp))
    lines = ["# Bad input and faults: what mmgap does", "",
             "Each case is a test in `tests/test_reliability.py` (exit code and message checked); "
             "this table is written by `python benchmarks/reliability_table.py`. Exit 2 is a "
             "usage error with one line on stderr and no traceback; `ValueError` is the Python "
             "API's error; 0 means the right answer (or the right flag). Temporary paths are "
             "shortened to `…/`.", "",
             f"{sum(r[4] for r in rows)} of {len(rows)} cases behave as expected.", "",
             "| case | what the user did | outcome | message or answer |", "|---|---|---|---|"]
    for cid, what, got, message, ok in rows:
        msg = message.replace(tmp, "…") if tmp in message else message
        msg = msg.replace("|", "\\|")
        if len(msg) > 160:
            msg = msg[:157] + "..."
        lines.append(f"| `{cid}` | {what} | {got}{'' if ok else ' (UNEXPECTED)'} | {msg} |")
    lines += ["", "Also covered by their own tests: concurrent and killed benchmark writers "
              "(`tests/benchmark/test_store.py`), a `kill -9` of a sweep taking its workers down "
              "(`tests/benchmark/test_runner_report.py`), atomic saves and every tampered "
              "config field (`tests/test_persistence.py`), scale-free KSG/CCA/preprocessing "
              "(`tests/test_scale_and_labels.py`)."]
    Path(a.out).write_text("\n".join(lines) + "\n")
    print(f"{sum(r[4] for r in rows)}/{len(rows)} as expected; wrote {a.out}")


if __name__ == "__main__":
    main()
