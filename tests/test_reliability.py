"""Bad input and faults, as a new user meets them: every case gets a clear error naming the
argument (exit 2, one line, no traceback) or the right answer. The same table is written to
docs/reliability.md by benchmarks/reliability_table.py."""

import json
from pathlib import Path

import numpy as np
import pytest

from mmgap.cli import main

OK = ["--steps", "5", "--permutations", "0", "--quiet"]


def _xy(n=200, seed=0, d=2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return x, x + rng.normal(size=(n, d))


def _npz(tmp, name="d.npz", **arrays):
    if not arrays:
        x, y = _xy()
        arrays = {"x": x, "y": y}
    path = tmp / name
    np.savez(path, **arrays)
    return str(path)


def _csv(tmp, text, name="t.csv", encoding="utf-8"):
    path = tmp / name
    path.write_text(text, encoding=encoding)
    return str(path)


def _table(n=200, bad=None):
    x, y = _xy(n)
    rows = ["a,b,c"] + [f"{x[i, 0]},{x[i, 1]},{y[i, 0]}" for i in range(n)]
    if bad:
        rows[5] = bad
    return "\n".join(rows) + "\n"


def _cli(argv):
    def run(tmp, capsys):
        try:
            code = main([str(a) for a in argv(tmp)])
        except SystemExit as exc:  # argparse's own errors: usage, then "mmgap ...: error: ..."
            out, err = capsys.readouterr()
            return exc.code, (err.strip().splitlines() or [""])[-1]
        out, err = capsys.readouterr()
        return code, (err.strip().splitlines() or [""])[0] if code else out
    return run


def _api(fn):
    def run(tmp, capsys):
        try:
            out = fn(tmp)
        except ValueError as err:
            return "ValueError", str(err)
        return 0, str(out)
    return run


def _huge_npy(tmp):
    from numpy.lib import format as npformat

    path = tmp / "huge.npy"
    with open(path, "wb") as fh:
        npformat.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False,
                                             "shape": (10**8, 10**5)})
        fh.write(b"\0" * 64)
    return str(path)


def _truncated_npy(tmp):
    path = tmp / "cut.npy"
    np.save(path, np.ones((100, 3)))
    data = path.read_bytes()
    path.write_bytes(data[:-200])
    return str(path)


def _object_npy(tmp):
    path = tmp / "obj.npy"
    np.save(path, np.array([{"a": 1}] * 30, dtype=object), allow_pickle=True)
    return str(path)


def _saved(tmp, edit=None):
    import mmgap

    x, y = _xy()
    est = mmgap.MMGEstimator(n_steps=5, verbose=False, n_permutations=0).fit(x, y)
    path = est.save(tmp / "model")
    if edit:
        edit(path)
    return mmgap.MMGEstimator.load(path, device="cpu")


def _edit_json(key, value):
    def edit(path):
        cfg = json.loads((path / "config.json").read_text())
        cfg["fitted"][key] = value
        (path / "config.json").write_text(json.dumps(cfg))
    return edit


def _nan_weights(path):
    import torch

    state = torch.load(path / "weights.pt", weights_only=True)
    k = next(k for k, v in state.items() if torch.is_floating_point(v))
    state[k] = state[k] * float("nan")
    torch.save(state, path / "weights.pt")


def _estimate(fn):
    def call(tmp):
        import mmgap

        x, y, kw = fn(tmp)
        res = mmgap.estimate_mi(x, y, n_steps=5, verbose=False, n_permutations=0, **kw)
        return f"mi={res.mi:.4f} flags={[f['code'] for f in res.flags]}"
    return call


def _same_after_scaling(c, preprocess):
    def call(tmp):
        import mmgap

        x, y = _xy(300)
        kw = dict(n_steps=5, verbose=False, n_permutations=0, preprocess=preprocess)
        a, b = mmgap.estimate_mi(x, y, **kw).mi, mmgap.estimate_mi(x * c, y, **kw).mi
        return f"same={abs(a - b) <= 1e-6 * max(1.0, abs(a))}"
    return call


def _bench(extra):
    return _cli(lambda t: ["bench", "--tasks", "1v1-normal-0.75", "--methods", "cca",
                           "--n-samples", "200", "--out", t / "b", *extra])


def _report_garbage(tmp):
    d = tmp / "r"
    d.mkdir()
    rec = {"task": "1v1-normal-0.75", "method": "cca", "seed": 0, "n_samples": 100, "truth": 0.41,
           "estimate": 0.4, "stderr": 0.01, "seconds": 1.0, "success": True, "error": None,
           "params": {}}
    (d / "results.jsonl").write_text(json.dumps(rec) + "\n" + json.dumps(rec) + "\n[1, 2]\n{\"ta")
    return ["report", d]


# (id, what the user did, expected exit code or "ValueError", fragment of the message/output, run)
CASES = [
    ("file-missing", "estimate a file that does not exist", 2, "no such file",
     _cli(lambda t: ["estimate", t / "nope.npz"])),
    ("file-directory", "estimate a directory", 2, "not a regular file",
     _cli(lambda t: ["estimate", t])),
    ("file-suffix", "a .txt file", 2, "unsupported file type",
     _cli(lambda t: ["estimate", _csv(t, "1,2\n", name="d.txt")])),
    ("csv-empty", "an empty CSV", 2, "empty",
     _cli(lambda t: ["estimate", _csv(t, ""), "--x-cols", "a", "--y-cols", "b"])),
    ("csv-header-only", "a CSV with a header and no rows", 2, "no data rows",
     _cli(lambda t: ["estimate", _csv(t, "a,b\n"), "--x-cols", "a", "--y-cols", "b"])),
    ("csv-text-labels", "a CSV whose Y column is text labels, cat if a > 0 (truth log 2 = 0.693)",
     0, "I(X;Y)",
     _cli(lambda t: ["estimate", _csv(t, "a,b,c\n" + "".join(
         f"{v},{w},{'cat' if v > 0 else 'dog'}\n" for v, w in _xy(1000)[0])), "--x-cols", "a,b",
                     "--y-cols", "c", "--steps", "600", "--permutations", "0", "--quiet"])),
    ("csv-text-typo", "a numeric CSV column with one stray word", 2, "not numeric",
     _cli(lambda t: ["estimate", _csv(t, _table(bad="1,hello,2")), "--x-cols", "a,b", "--y-cols", "c"])),
    ("csv-ragged", "a CSV line with a missing field", 2, "fields, expected",
     _cli(lambda t: ["estimate", _csv(t, _table(bad="1,2")), "--x-cols", "a,b", "--y-cols", "c"])),
    ("csv-empty-cell", "a CSV with an empty cell", 2, "NaN",
     _cli(lambda t: ["estimate", _csv(t, _table(bad="1,,2")), "--x-cols", "a,b", "--y-cols", "c"])),
    ("csv-nan", "a CSV with the text nan", 2, "NaN",
     _cli(lambda t: ["estimate", _csv(t, _table(bad="1,nan,2")), "--x-cols", "a,b", "--y-cols", "c"])),
    ("csv-inf", "a CSV with inf", 2, "inf",
     _cli(lambda t: ["estimate", _csv(t, _table(bad="1,inf,2")), "--x-cols", "a,b", "--y-cols", "c"])),
    ("csv-bom", "a CSV saved with a UTF-8 byte-order mark", 0, "I(X;Y)",
     _cli(lambda t: ["estimate", _csv(t, _table(), encoding="utf-8-sig"), "--x-cols", "a,b",
                     "--y-cols", "c", *OK])),
    ("csv-unknown-column", "--x-cols names a column that is not there", 2, "columns are",
     _cli(lambda t: ["estimate", _csv(t, _table()), "--x-cols", "zz", "--y-cols", "c"])),
    ("csv-column-index", "--x-cols index out of range", 2, "column",
     _cli(lambda t: ["estimate", _csv(t, _table()), "--x-cols", "7", "--y-cols", "c"])),
    ("npz-missing-key", "an .npz without the array x", 2, "no array",
     _cli(lambda t: ["estimate", _npz(t, a=np.ones(3), y=np.ones(3))])),
    ("npz-object", "an .npz whose x holds Python objects", 2, "never unpickles",
     _cli(lambda t: ["estimate", _npz(t, x=np.array([{}] * 30, dtype=object), y=np.ones(30))])),
    ("npy-object", "an .npy of Python objects", 2, "never unpickles",
     _cli(lambda t: ["estimate", "--x", _object_npy(t), "--y", _object_npy(t)])),
    ("npy-garbage", "an .npy that is not a numpy file", 2, "not a valid .npy",
     _cli(lambda t: ["estimate", "--x", _csv(t, "hello", name="g.npy"), "--y", _csv(t, "h", name="h.npy")])),
    ("npy-huge-header", "an .npy header declaring a 80 TB array", 2, "truncated or corrupt",
     _cli(lambda t: ["estimate", "--x", _huge_npy(t), "--y", _huge_npy(t)])),
    ("npy-truncated", "an .npy cut short", 2, "truncated or corrupt",
     _cli(lambda t: ["estimate", "--x", _truncated_npy(t), "--y", _truncated_npy(t)])),
    ("npz-not-zip", "an .npz that is not a zip file", 2, "cannot read",
     _cli(lambda t: ["estimate", _csv(t, "hello", name="z.npz")])),
    ("parquet-corrupt", "a corrupt parquet file", 2, "parquet",
     _cli(lambda t: ["estimate", _csv(t, "hello", name="p.parquet"), "--x-cols", "a", "--y-cols", "b"])),
    ("lengths", "x and y of different lengths", 2, "same number of samples",
     _cli(lambda t: ["estimate", _npz(t, x=np.ones((50, 2)), y=np.ones((40, 2)))])),
    ("ndim-5", "a 5-D array as x", 2, "x",
     _cli(lambda t: ["estimate", _npz(t, x=np.ones((30, 2, 2, 2, 2)), y=np.ones((30, 1)))])),
    ("x-constant", "a constant column in x", 2, "constant",
     _cli(lambda t: ["estimate", _npz(t, x=np.c_[np.ones(100), np.arange(100.0)], y=np.arange(100.0))])),
    ("y-constant", "a constant y", 2, "constant",
     _cli(lambda t: ["estimate", _npz(t, x=np.arange(100.0), y=np.ones(100))])),
    ("too-few", "10 samples", 2, "samples",
     _cli(lambda t: ["estimate", _npz(t, x=np.arange(10.0), y=np.arange(10.0) ** 2)])),
    ("labels-float", "--y-discrete with 1.5 as a label", 2, "integers",
     _cli(lambda t: ["estimate", _npz(t, x=np.arange(100.0), y=np.r_[np.zeros(99), 1.5]), "--y-discrete"])),
    ("labels-one-class", "--y-discrete with a single class", 2, "single value",
     _cli(lambda t: ["estimate", _npz(t, x=np.arange(100.0), y=np.zeros(100, int)), "--y-discrete", *OK])),
    ("labels-rare-class", "--y-discrete with a class seen once (kept for training)", 0, "nats",
     _cli(lambda t: ["estimate", _npz(t, x=np.arange(100.0), y=np.r_[np.zeros(99, int), [3]]),
                     "--y-discrete", *OK])),
    ("labels-huge-ints", "labels 2**60 and 2**60+1 (distinct in int64, equal in float64)", 0,
     "distinct=2", _api(lambda t: "distinct=%d" % len(set(__import__("mmgap.validation").validation
                                                         .as_labels(np.array([2**60, 2**60 + 1] * 5), "y"))))),
    ("x-equals-y", "y is a copy of x (infinite MI)", 0, "infinite_mi",
     _api(_estimate(lambda t: (_xy()[0], _xy()[0].copy(), {})))),
    ("scale-tiny", "x * 1e-300 (default rank map)", 0, "same=True",
     _api(_same_after_scaling(1e-300, "rank"))),
    ("scale-huge", "x * 1e300 with --preprocess standardize", 0, "same=True",
     _api(_same_after_scaling(1e300, "standardize"))),
    ("args-x-only", "--x without --y", 2, "--y",
     _cli(lambda t: ["estimate", "--x", _npz(t)])),
    ("args-both", "DATA and --x together", 2, "either",
     _cli(lambda t: ["estimate", _npz(t), "--x", _npz(t, name="e.npz")])),
    ("args-none", "no data at all", 2, "DATA",
     _cli(lambda t: ["estimate"])),
    ("args-cols-npy", "--x-cols with an .npz", 2, "--x-cols/--y-cols apply",
     _cli(lambda t: ["estimate", _npz(t), "--x-cols", "a"])),
    ("opt-steps-0", "--steps 0", 2, "--steps",
     _cli(lambda t: ["estimate", _npz(t), "--steps", "0"])),
    ("opt-steps-neg", "--steps -5", 2, "--steps",
     _cli(lambda t: ["estimate", _npz(t), "--steps", "-5"])),
    ("opt-seed-neg", "--seed -1", 2, "--seed",
     _cli(lambda t: ["estimate", _npz(t), "--seed", "-1"])),
    ("opt-test-size-0", "--test-size 0", 2, "--test-size",
     _cli(lambda t: ["estimate", _npz(t), "--test-size", "0"])),
    ("opt-test-size-big", "--test-size 1.5", 2, "--test-size",
     _cli(lambda t: ["estimate", _npz(t), "--test-size", "1.5"])),
    ("opt-units", "--units furlongs", 2, "invalid choice",
     _cli(lambda t: ["estimate", _npz(t), "--units", "furlongs"])),
    ("opt-variant", "--variant sideways", 2, "invalid choice",
     _cli(lambda t: ["estimate", _npz(t), "--variant", "sideways"])),
    ("opt-method", "--method ksgg (typo)", 2, "did you mean",
     _cli(lambda t: ["estimate", _npz(t), "--method", "ksgg"])),
    ("opt-device", "--device banana", 2, "device",
     _cli(lambda t: ["estimate", _npz(t), "--device", "banana", *OK])),
    ("opt-max-seconds", "--max-seconds -1", 2, "max_seconds",
     _cli(lambda t: ["estimate", _npz(t), "--max-seconds", "-1"])),
    ("opt-permutations", "--permutations -1", 2, "--permutations",
     _cli(lambda t: ["estimate", _npz(t), "--permutations", "-1", "--steps", "5"])),
    ("opt-alpha", "--alpha 0", 2, "--alpha",
     _cli(lambda t: ["estimate", _npz(t), "--alpha", "0"])),
    ("test-no-permutations", "mmgap test --permutations 0", 2, "--permutations",
     _cli(lambda t: ["test", _npz(t), "--permutations", "0"])),
    ("test-baseline", "mmgap test --method ksg", 2, "no independence test",
     _cli(lambda t: ["test", _npz(t), "--method", "ksg"])),
    ("plot-missing-dir", "--plot into a folder that does not exist", 2, "--plot",
     _cli(lambda t: ["estimate", _npz(t), "--plot", t / "no" / "p.png", "--steps", "100000"])),
    ("plot-is-dir", "--plot naming a directory", 2, "is a directory",
     _cli(lambda t: ["estimate", _npz(t), "--plot", t, "--steps", "100000"])),
    ("save-non-empty", "--save into a non-empty folder", 2, "--overwrite",
     _cli(lambda t: ["estimate", _npz(t), "--save", t, "--steps", "100000"])),
    ("save-is-file", "--save naming a file", 2, "not a directory",
     _cli(lambda t: ["estimate", _npz(t), "--save", _npz(t, name="f.npz"), "--steps", "100000"])),
    ("save-baseline", "--save with --method ksg", 2, "only MMG methods",
     _cli(lambda t: ["estimate", _npz(t), "--method", "ksg", "--save", t / "m"])),
    ("plot-baseline", "--plot with --method ksg", 2, "needs an MMG method",
     _cli(lambda t: ["estimate", _npz(t), "--method", "ksg", "--plot", t / "p.png"])),
    ("bench-steps-0", "bench --steps 0", 2, "--steps", _bench(["--steps", "0"])),
    ("bench-seed-neg", "bench --seeds -1", 2, "--seeds", _bench(["--seeds", "-1"])),
    ("bench-jobs-0", "bench --jobs 0", 2, "--jobs", _bench(["--jobs", "0"])),
    ("bench-n-small", "bench --n-samples 5", 2, "--n-samples", _bench(["--n-samples", "5"])),
    ("bench-task", "bench --tasks with an unknown id", 2, "unknown task",
     _cli(lambda t: ["bench", "--tasks", "nope", "--out", t / "b"])),
    ("bench-method", "bench --methods with an unknown name", 2, "unknown method",
     _cli(lambda t: ["bench", "--tasks", "1v1-normal-0.75", "--methods", "nope", "--out", t / "b"])),
    ("bench-no-tasks", "bench without --suite or --tasks", 2, "exactly one",
     _cli(lambda t: ["bench", "--out", t / "b"])),
    ("report-empty", "report on a folder with no results", 2, "no results",
     _cli(lambda t: ["report", t])),
    ("report-garbage", "report on a results.jsonl with a doubled record and garbage lines", 0,
     "wrote", _cli(_report_garbage)),
    ("export-empty", "export from a folder with no results", 2, "no benchmark results",
     _cli(lambda t: ["export", t, t / "o.jsonl"])),
    ("import-missing", "import a file that does not exist", 2, "no such file",
     _cli(lambda t: ["import", t / "d", t / "missing.jsonl"])),
    ("load-missing", "MMGEstimator.load on a folder without a model", "ValueError", "expected a directory",
     _api(lambda t: __import__("mmgap").MMGEstimator.load(t / "none"))),
    ("load-tampered", "load a config.json whose dim_x is a string", "ValueError", "fitted.dim_x",
     _api(lambda t: _saved(t, _edit_json("dim_x", "two")))),
    ("load-mixed", "load after weights.pt was replaced by another model's", "ValueError",
     "weights_sha256",
     _api(lambda t: _saved(t, lambda p: (p / "weights.pt").write_bytes(
         (p / "weights.pt").read_bytes()[:-8] + b"\0" * 8)))),
    ("load-nan-scaler", "load a config whose scaler holds NaN", "ValueError", "finite",
     _api(lambda t: _saved(t, lambda p: (p / "config.json").write_text(
         (p / "config.json").read_text().replace('"seconds_fit": ', '"seconds_fit": NaN, "z": ', 1))))),
    ("load-nan-weights", "load NaN weights (hash removed)", "ValueError", "non-finite",
     _api(lambda t: _saved(t, lambda p: (_nan_weights(p), (p / "config.json").write_text(
         json.dumps({k: v for k, v in json.loads((p / "config.json").read_text()).items()
                     if k != "weights_sha256"})))))),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_case(case, tmp_path, capsys):
    _, _, code, fragment, run = case
    got_code, message = run(tmp_path, capsys)
    assert got_code == code, message
    assert fragment in message, message
    if code == 2:  # one line, names the problem, no traceback
        assert message.startswith("mmgap") and "error:" in message and "Traceback" not in message


def test_enough_cases():
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) == len(CASES)


_Captured = __import__("collections").namedtuple("_Captured", "out err")


def run_all(tmp_root: Path):
    """(id, description, expected, outcome line) for every case, for docs/reliability.md."""
    import tempfile

    class _Cap:
        def readouterr(self):
            import sys

            out, err = sys.stdout.getvalue(), sys.stderr.getvalue()
            sys.stdout.seek(0), sys.stdout.truncate(), sys.stderr.seek(0), sys.stderr.truncate()
            return _Captured(out, err)

    import contextlib
    import io

    rows = []
    for cid, what, code, fragment, run in CASES:
        tmp = Path(tempfile.mkdtemp(dir=tmp_root))
        cap = _Cap()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                got, message = run(tmp, cap)
            except Exception as err:  # recorded, the table goes on
                got, message = type(err).__name__, str(err)
        ok = got == code and fragment in message
        rows.append((cid, what, got, message.strip().splitlines()[0] if message.strip() else "", ok))
    return rows
