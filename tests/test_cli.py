import json

import numpy as np
import pytest

from mmgap.cli import main

FAST = ["--steps", "100", "--quiet"]


@pytest.fixture
def npz(tmp_path, gaussian_1d):
    x, y = gaussian_1d(400, 0)
    path = tmp_path / "data.npz"
    np.savez(path, x=x, y=y)
    return path


def run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_estimate_npz_text(npz, capsys):
    code, out, err = run(capsys, ["estimate", npz, *FAST])
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("I(X;Y) = ") and "nats (95% CI" in first and "320/80 samples" in first
    checks = [ln for ln in out.splitlines() if ln.startswith("checks:")]
    assert len(checks) == 1 and "Gaussian copula" in checks[0] and "KSG" in checks[0]
    control = [ln for ln in out.splitlines() if ln.startswith("control:")]
    assert len(control) == 1 and "on all 400 rows" in control[0]


def test_estimate_json_has_required_keys(npz, capsys):
    code, out, _ = run(capsys, ["estimate", npz, "--json", "--units", "bits", "--variant", "direct", *FAST])
    assert code == 0
    obj = json.loads(out)
    for key in ("mi", "stderr", "ci95", "units", "variant", "n_train", "n_test", "seconds"):
        assert key in obj
    assert obj["units"] == "bits" and obj["variant"] == "direct"
    assert obj["n_train"] == 320 and obj["n_test"] == 80


def test_seed_makes_cli_reproducible(npz, capsys):
    a = json.loads(run(capsys, ["estimate", npz, "--json", "--seed", "3", *FAST])[1])["mi"]
    b = json.loads(run(capsys, ["estimate", npz, "--json", "--seed", "3", *FAST])[1])["mi"]
    assert a == b


def test_estimate_two_files_csv_npy_and_plot_and_save(tmp_path, gaussian_1d, capsys):
    pytest.importorskip("matplotlib")
    x, y = gaussian_1d(300, 1)
    np.save(tmp_path / "x.npy", x)
    with open(tmp_path / "y.csv", "w") as fh:
        fh.write("id,target,name\n")
        for i, v in enumerate(y):
            fh.write(f"{i},{v},row{i}\n")
    png = tmp_path / "gap.png"
    code, out, err = run(capsys, ["estimate", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.csv",
                                  "--y-cols", "target", "--plot", png, "--save", tmp_path / "m", *FAST])
    assert code == 0, err
    assert png.stat().st_size > 1000
    assert (tmp_path / "m" / "weights.pt").exists()


def test_estimate_single_table_with_columns(tmp_path, gaussian_1d, capsys):
    x, y = gaussian_1d(300, 2)
    path = tmp_path / "t.csv"
    np.savetxt(path, np.column_stack([x, y, x * 0 + np.arange(300)]), delimiter=",",
               header="a,b,c", comments="")
    code, out, err = run(capsys, ["estimate", path, "--x-cols", "a", "--y-cols", "1", "--json", *FAST])
    assert code == 0, err
    assert json.loads(out)["n_test"] == 60


def test_parquet_input(tmp_path, gaussian_1d, capsys):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    x, y = gaussian_1d(200, 3)
    path = tmp_path / "t.parquet"
    sign = np.where(np.ravel(x) > 0, "pos", "neg")
    pd.DataFrame({"a": x, "b": y, "s": sign, "m": [None] + list(sign[1:])}).to_parquet(path)
    code, out, err = run(capsys, ["estimate", path, "--x-cols", "a", "--y-cols", "b", "--json", *FAST])
    assert code == 0, err
    # a string column is a label column: its entropy bounds the MI
    code, out, err = run(capsys, ["estimate", path, "--x-cols", "a", "--y-cols", "s", "--json",
                                  "--permutations", "0", *FAST])
    p = np.mean(sign == "pos")
    assert code == 0, err
    # (the plug-in entropy of the training rows' labels, near that of all rows)
    assert json.loads(out)["upper_bound"] == pytest.approx(-p * np.log(p) - (1 - p) * np.log(1 - p),
                                                           abs=0.01)
    code, out, err = run(capsys, ["estimate", path, "--x-cols", "a", "--y-cols", "m", *FAST])
    assert code == 2 and "column 'm' has a missing value" in err


def test_text_columns_of_a_csv_are_categories(tmp_path, capsys):
    rng = np.random.default_rng(3)
    a = rng.standard_normal(300)
    path = tmp_path / "t.csv"
    with open(path, "w") as fh:
        fh.write("a,b,kind,typo,name\n")
        for i, v in enumerate(a):
            typo = "oops" if i == 7 else f"{v:.3f}"
            fh.write(f"{v:.4f},{rng.standard_normal():.4f},{'up' if v > 0 else 'down'},{typo},"
                     f"s{i}\n")
    base = ["estimate", path, "--x-cols", "a", "--permutations", "0", "--json", *FAST]
    code, out, err = run(capsys, [*base, "--y-cols", "kind"])
    p = np.mean(a > 0)
    assert code == 0, err
    assert json.loads(out)["upper_bound"] == pytest.approx(-p * np.log(p) - (1 - p) * np.log(1 - p),
                                                           abs=0.01)
    # a text column among several X columns becomes a discrete column of X
    code, out, err = run(capsys, ["estimate", path, "--x-cols", "kind,b", "--y-cols", "a",
                                  "--permutations", "0", "--json", *FAST])
    assert code == 0, err
    # a numeric column with one text cell is an error, unless it is declared discrete
    code, out, err = run(capsys, [*base, "--y-cols", "typo"])
    assert code == 2 and "column 'typo' is not numeric (line 9: 'oops') but holds numbers" in err
    code, out, err = run(capsys, [*base, "--y-cols", "typo", "--y-discrete", "typo"])
    assert code == 0, err  # 300 distinct strings: categories, as asked
    # a text column of distinct values is an identifier, not a category, unless declared
    code, out, err = run(capsys, [*base, "--y-cols", "name"])
    assert code == 2 and "text column 'name' has 300 distinct values in 300 rows" in err
    code, out, err = run(capsys, [*base, "--y-cols", "name", "--y-discrete"])
    assert code == 2 and "300 classes in 300 samples leave 0 to hold out" in err
    code, out, err = run(capsys, [*base, "--y-cols", "kind", "--y-discrete", "none"])
    assert code == 2 and "--y-discrete: 'none', but column 'kind' of Y holds text" in err
    # a baseline sees it as labels, as it would integer labels
    code, out, err = run(capsys, [*base, "--y-cols", "kind", "--method", "ksg"])
    assert code == 2 and "method 'ksg' does not take discrete labels" in err
    # an array of strings in a .npz is labels too
    np.savez(tmp_path / "lab.npz", x=a, y=np.where(a > 0, "up", "down"))
    code, out, err = run(capsys, ["estimate", tmp_path / "lab.npz", "--permutations", "0",
                                  "--json", *FAST])
    assert code == 0, err
    assert json.loads(out)["upper_bound"] == pytest.approx(-p * np.log(p) - (1 - p) * np.log(1 - p),
                                                           abs=0.01)
    # h(X) of text is not defined here; h(X|Y) given text labels is
    code, out, err = run(capsys, ["entropy", path, "--x-cols", "kind", *FAST])
    assert code == 2 and "column 'kind' is not numeric" in err
    code, out, err = run(capsys, ["entropy", path, "--x-cols", "a", "--given-cols", "kind",
                                  "--json", *FAST])
    assert code == 0, err
    assert json.loads(out)["quantity"] == "conditional_entropy"


def _csv(tmp_path, rows, header="a,b", name="bad"):
    path = tmp_path / f"{name}.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def _bad_cases(tmp_path, gaussian_1d):
    x, y = gaussian_1d(100, 4)
    good = [f"{a},{b}" for a, b in zip(x, y)]
    nan_rows = good.copy()
    nan_rows[11] = "nan,1.0"
    text_rows = good.copy()
    text_rows[5] = "0.1,hello"
    const = [f"1.0,{b}" for b in y]
    np.savez(tmp_path / "short.npz", x=x, y=y[:90])
    np.savez(tmp_path / "few.npz", x=x[:8], y=y[:8])
    np.savez(tmp_path / "noy.npz", x=x)
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file")
    return {
        "missing file": (["estimate", tmp_path / "nope.npz"], "no such file"),
        "unreadable": (["estimate", "--x", tmp_path / "junk.npy", "--y", tmp_path / "junk.npy"], "cannot read"),
        "missing array": (["estimate", tmp_path / "noy.npz"], "no array 'y'"),
        "missing column": (["estimate", _csv(tmp_path, good, name="g1"), "--x-cols", "a", "--y-cols", "zz"], "no column 'zz'"),
        "nan": (["estimate", _csv(tmp_path, nan_rows, name="nan"), "--x-cols", "a", "--y-cols", "b"], "x: contains NaN (first at row 11"),
        "text": (["estimate", _csv(tmp_path, text_rows, name="text"), "--x-cols", "a", "--y-cols", "b"], "column 'b' is not numeric (line 7"),
        "length": (["estimate", tmp_path / "short.npz"], "same number of samples"),
        "too few": (["estimate", tmp_path / "few.npz"], "at least 20 samples"),
        "constant": (["estimate", _csv(tmp_path, const, name="const"), "--x-cols", "a", "--y-cols", "b"], "column 0 is constant"),
        "no data": (["estimate"], "no data"),
        "table without cols": (["estimate", _csv(tmp_path, good, name="g2")], "--x-cols and --y-cols"),
        "bad extension": (["estimate", _csv(tmp_path, good, name="ext").rename(tmp_path / "d.txt")], "unsupported file type"),
    }


@pytest.mark.parametrize("case", ["missing file", "unreadable", "missing array", "missing column",
                                  "nan", "text", "length", "too few", "constant", "no data",
                                  "table without cols", "bad extension"])
def test_bad_input_exits_2_with_one_line(case, tmp_path, gaussian_1d, capsys):
    argv, message = _bad_cases(tmp_path, gaussian_1d)[case]
    code, out, err = run(capsys, [*argv, *FAST])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmgap: error: "), err
    assert message in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "--steps (n_steps): expected an integer >= 1, got 0"),
    (["--test-size", "1.5"], "--test-size (test_size): expected a number in (0.0, 1.0), got 1.5"),
    (["--max-seconds", "-1"], "--max-seconds (max_seconds):"),
])
def test_bad_option_values_name_the_option(npz, capsys, argv, message):
    code, out, err = run(capsys, ["estimate", npz, "--quiet", *argv])
    assert code == 2 and err.startswith(f"mmgap: error: {message}"), err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["estimate", "--variant", "nope"])
    assert exc.value.code == 2
    assert main([]) == 2


def test_demo_runs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "demo.png"
    code, out, err = run(capsys, ["demo", "--steps", "100", "--n-samples", "1000", "--plot", png, "--quiet"])
    assert code == 0, err
    assert "truth:    0.5928 nats" in out and "error:" in out
    assert png.exists()
    code, out, _ = run(capsys, ["demo", "--steps", "50", "--n-samples", "500", "--plot", "", "--json", "--quiet"])
    obj = json.loads(out)
    assert obj["truth"] == pytest.approx(0.592812, abs=1e-6) and obj["task"] == "multinormal-dense-5-5-0.5"


def test_help_for_every_command(capsys):
    for argv in (["--help"], ["estimate", "--help"], ["demo", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
        assert "usage: mmgap" in capsys.readouterr().out


def test_test_command_prints_p_value_and_decision(npz, capsys):
    code, out, err = run(capsys, ["test", npz, "--permutations", "49", *FAST])
    assert code == 0, err
    assert out.startswith("p = 0.01 (denoiser 0.02, canonical correlations 0.005, Bonferroni over "
                          "49 and 199 permutations): dependent") and "alpha = 0.05" in out
    code, out, _ = run(capsys, ["test", npz, "--json", "--alpha", "0.01", *FAST])
    obj = json.loads(out)
    assert obj["p_value"] == pytest.approx(0.005) and obj["dependent"] is True  # 2 x 1/400
    assert obj["alpha"] == 0.01 and "flags" in obj["diagnostics"]


@pytest.mark.parametrize("argv,message", [
    (["--alpha", "1.5"], "--alpha"),
    (["--permutations", "0"], "--permutations"),
    (["--method", "ksg"], "no independence test"),
])
def test_test_command_bad_options(npz, capsys, argv, message):
    code, _, err = run(capsys, ["test", npz, *argv, *FAST])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_estimate_reports_a_repair(tmp_path, capsys):
    # 8+8 dims, 4 strongly coupled pairs, 15 steps: gaussian_above fires, the refit is reported
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2000, 8))
    y = rng.normal(size=(2000, 8))
    y[:, :4] = 0.9165 * x[:, :4] + 0.4 * y[:, :4]
    path = tmp_path / "pairs.npz"
    np.savez(path, x=x, y=y)
    code, out, err = run(capsys, ["estimate", path, "--steps", "15", "--quiet", "--permutations", "0"])
    assert code == 0, err
    line = [ln for ln in out.splitlines() if ln.startswith("repair:")]
    assert len(line) == 1 and "gaussian_above on the first fit" in line[0]
    assert "refitted with gaussian_prior=True" in line[0]
