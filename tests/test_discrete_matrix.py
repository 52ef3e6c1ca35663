"""Discrete and mixed columns (x_discrete / y_discrete / z_discrete), MI matrices and
feature scores (issue 14)."""

import json
import math
import warnings

import numpy as np
import pytest

import mmgap
from mmgap.cli import main
from mmgap.cli.common import _discrete_arg
from mmgap.matrix import _symmetric, mi_matrix, mutual_info_classif, mutual_info_regression
from mmgap.preprocessing import DiscreteColumns, make_scaler, scaler_from_dict
from mmgap.validation import label_column, resolve_discrete

FAST = dict(n_steps=300, verbose=False, n_permutations=0)


# ---------------------------------------------------------------- column resolution
def test_auto_detects_integer_columns_with_few_values_only():
    rng = np.random.default_rng(0)
    a = np.column_stack([rng.integers(0, 5, 400), rng.standard_normal(400),
                         rng.integers(0, 400, 400), np.round(rng.standard_normal(400), 1)])
    assert resolve_discrete("auto", a.astype(float), "x", "x_discrete") == [0]
    assert resolve_discrete(False, a, "x", "x_discrete") == []
    assert resolve_discrete([2, -4], a, "x", "x_discrete") == [0, 2]
    assert resolve_discrete(["c"], a, "x", "x_discrete", names=["a", "b", "c", "d"]) == [2]


@pytest.mark.parametrize("spec, match", [
    (True, "declared discrete but holds"),
    ([5], "out of range"),
    (["nope"], "no column named"),
    ("sometimes", "expected True, False, 'auto'"),
    ([0, 0], "listed twice"),
])
def test_bad_discrete_specs_name_the_argument(spec, match):
    a = np.column_stack([np.arange(40) % 3, np.linspace(0, 1, 40)])
    with pytest.raises(ValueError, match=match) as err:
        resolve_discrete(spec, a, "x", "x_discrete", names=["a", "b"])
    assert "x_discrete" in str(err.value)


def test_label_column_rules():
    labels = np.arange(100) % 4
    assert label_column("auto", labels, "y", "y_discrete")
    assert label_column("auto", labels.astype(float)[:, None], "y", "y_discrete")
    assert not label_column("auto", labels + 0.5, "y", "y_discrete")
    assert not label_column("auto", np.column_stack([labels, labels]), "y", "y_discrete")
    assert not label_column(False, labels, "y", "y_discrete")
    assert label_column(True, labels, "y", "y_discrete")
    assert not label_column("auto", np.array([1.0, np.nan] * 50), "y", "y_discrete")


# ---------------------------------------------------------------- the coding map
def test_ordinal_codes_are_equally_spaced_injective_and_keep_column_order():
    a = np.column_stack([np.tile([10.0, 20.0, 40.0], 30), np.linspace(-1, 1, 90)])
    m = DiscreteColumns([0], "ordinal", make_scaler("standardize")).fit(a, "x")
    u = m.transform(a, "x")
    assert u.shape == a.shape
    codes = np.unique(u[:, 0])
    assert codes.size == 3 and np.allclose(np.diff(codes), np.diff(codes)[0])
    assert abs(u[:, 0].mean()) < 1e-12 and abs(u[:, 0].std() - 1) < 1e-12
    assert np.allclose(u[:, 1], (a[:, 1] - a[:, 1].mean()) / a[:, 1].std())  # column 1 stays 2nd
    # an unseen value sits between its neighbours (order kept, nothing merged)
    new = m.transform(np.array([[30.0, 0.0], [50.0, 0.0], [5.0, 0.0]]), "x")[:, 0]
    assert codes[1] < new[0] < codes[2] and new[1] > codes[2] and new[2] < codes[0]
    again = scaler_from_dict(json.loads(json.dumps(m.to_dict())))
    assert np.array_equal(again.transform(a, "x"), u)


def test_onehot_coding_and_the_resolving_logsnr():
    a = np.column_stack([np.arange(60) % 3, np.linspace(0, 1, 60)])
    m = DiscreteColumns([0], "onehot", None).fit(a, "y")
    u = m.transform(a, "y")
    assert u.shape == (60, 4) and np.array_equal(u[:, 3], a[:, 1])  # column order kept
    assert np.array_equal(u[:, :3].sum(1), np.ones(60))
    with pytest.raises(ValueError, match="not seen in fit"):
        m.transform(np.array([[7.0, 0.5]]), "y")
    # ordinal codes delta apart are resolved at 2 log(7.44 / delta)
    o = DiscreteColumns([0], "ordinal", None).fit(np.arange(50.0)[:, None].repeat(2, 0), "x")
    delta = o.min_spacing()
    assert math.isclose(delta, 1 / np.arange(50).std())
    assert math.isclose(o.resolving_logsnr(), 2 * math.log(7.44 / delta))


# ---------------------------------------------------------------- the estimator
def test_integer_x_is_coded_and_the_window_reaches_its_resolution():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 50, 2000)
    y = x + rng.integers(0, 3, 2000)  # discrete too (52 values: declared), x stays noised
    est = mmgap.MMGEstimator(random_state=0, y_discrete=[0], **FAST).fit(x, y)
    assert not est.swapped_ and est.x_discrete_ == [0]
    assert isinstance(est.x_scaler_, DiscreteColumns)
    assert est.proposal_.high >= est.x_scaler_.resolving_logsnr() - 1e-9 > 9.0
    plain = mmgap.MMGEstimator(random_state=0, x_discrete=False, y_discrete=False,
                               **FAST).fit(x, y)
    assert plain.x_discrete_ == [] and plain.proposal_.high == pytest.approx(9.0)


def test_discrete_x_with_continuous_y_swaps_roles_caps_and_saves(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, 1500)
    y = x + 0.01 * rng.standard_normal(1500)  # I = H(X) = log 3
    est = mmgap.MMGEstimator(random_state=0, **FAST).fit(x[:1200], y[:1200])
    assert est.swapped_ and est.y_labels_ and est.x_discrete_ == []  # y noised, x the labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = est.estimate(x[1200:], y[1200:])
    assert res.diagnostics["roles_swapped"]
    assert res.upper_bound == pytest.approx(math.log(3), abs=0.01)
    assert res.mi <= res.upper_bound + 1e-12
    est.save(tmp_path / "m")
    back = mmgap.MMGEstimator.load(tmp_path / "m")
    assert back.swapped_ and back.y_labels_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert back.estimate(x[1200:], y[1200:]).mi == pytest.approx(res.mi)
    with pytest.raises(ValueError, match="label"):  # the caller's x: labels seen in fit
        back.estimate(x[1200:] + 7, y[1200:])


def test_mixed_y_columns_are_one_hot_and_a_label_y_is_stratified():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((600, 2))
    y = np.column_stack([rng.integers(0, 3, 600), rng.standard_normal(600)])
    est = mmgap.MMGEstimator(random_state=0, **FAST).fit(x, y)
    assert est.y_discrete_ == [0] and est.dim_y_ == 1 + 3
    labels = rng.integers(0, 4, 600)
    _, res, held = mmgap.estimator.fit_estimate(x, labels, random_state=0, **FAST)
    assert set(np.unique(held[1])) == {0, 1, 2, 3}  # every class held out (stratified)
    assert "label_entropy" in res.diagnostics


def test_entropy_refuses_discrete_x():
    x = np.random.default_rng(4).integers(0, 4, (300, 2))
    with pytest.raises(ValueError, match="x_discrete"):
        mmgap.estimate_entropy(x, n_steps=50, verbose=False)


@pytest.mark.parametrize("m", [5])
def test_discrete_x_estimate_matches_the_truth(m):
    """X uniform on {0..m-1}, Y | X uniform on [X, X+2]: I = log m - (m-1) log 2 / m = 1.055
    (m = 5); x is discrete, so y is the variable noised (roles swapped). Tolerance 0.12
    nats: about 4 times the seed-to-seed spread of this short (2,000-step, 4,000-row) fit;
    a constant, or noising x through the rank map (0.96 at N = 10,000), would not pass."""
    truth = math.log(m) - (m - 1) * math.log(2) / m
    errs = []
    for seed in (0, 1, 2):
        rng = np.random.default_rng(100 + seed)
        x = rng.integers(0, m, 4000)
        y = x + 2 * rng.random(4000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = mmgap.estimate_mi(x, y, random_state=seed, n_steps=2000, verbose=False,
                                    n_permutations=0)
        errs.append(res.mi - truth)
    assert max(abs(e) for e in errs) < 0.12, errs


# ---------------------------------------------------------------- matrices
def _gaussian_table(n, rho, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    b = rho * a + math.sqrt(1 - rho ** 2) * rng.standard_normal(n)
    c = rng.standard_normal(n)
    d = np.exp(b)  # a monotone map of b: I(b; d) infinite, I(a; d) = I(a; b)
    return np.column_stack([a, b, c, d])


def test_symmetric_uses_the_continuous_target_for_mixed_pairs():
    est = np.array([[np.nan, 0.5, 0.9], [0.3, np.nan, 0.2], [0.1, 0.4, np.nan]])
    se = np.full((3, 3), 0.01)
    mi, err = _symmetric(est, se, [False, False, True])
    assert mi[0, 1] == mi[1, 0] == pytest.approx(0.4)  # both continuous: the mean
    assert err[0, 1] == pytest.approx(math.sqrt(0.01 ** 2 / 2 + 0.1 ** 2))
    assert mi[0, 2] == mi[2, 0] == 0.9 and mi[1, 2] == 0.2  # target continuous (row)
    assert err[0, 2] == 0.01


def test_mi_matrix_on_a_nonlinear_table():
    """Columns a, b = a^2 + noise (correlation 0: the Gaussian base sees nothing), c
    independent, and a discrete sign(a). True I(a; b) from the closed form of
    b | a ~ N(a^2, s^2) by 1-D quadrature; I(a; sign a) = log 2; I(b; sign a) = 0 (b is
    even in a). Tolerances: 0.1 nats, about 4 times the seed-to-seed spread seen on
    3 seeds when written; the nonlinear pair would read about 0 if the nets learnt nothing."""
    rng = np.random.default_rng(5)
    n, s = 4000, 0.3
    a = rng.standard_normal(n)
    b = a ** 2 + s * rng.standard_normal(n)
    c = rng.standard_normal(n)
    sign = (a > 0).astype(int)
    data = np.column_stack([a, b, c, sign])
    # I(a; b) = h(b) - h(b | a); h(b | a) = 1/2 log(2 pi e s^2); h(b) by quadrature of
    # p(b) = int phi(t) phi((b - t^2)/s)/s dt on a fine t grid (spacing 4e-4, well under the
    # narrowest peak's width s/(2 sqrt(b)) >= 0.024; matches a Monte Carlo average of the
    # density to 3 digits, where adaptive quad() missed the peaks at t = +-sqrt(b) in the tail)
    from scipy import integrate

    t = np.linspace(-8, 8, 40001)
    grid = np.linspace(-1.5, 40, 4000)
    dens = np.concatenate([
        integrate.trapezoid(np.exp(-0.5 * t * t - 0.5 * ((g[:, None] - t * t) / s) ** 2), t,
                            axis=1) / (2 * math.pi * s)
        for g in np.array_split(grid, 40)])
    hb = -integrate.trapezoid(np.where(dens > 0, dens * np.log(np.maximum(dens, 1e-300)), 0), grid)
    truth_ab = hb - 0.5 * math.log(2 * math.pi * math.e * s * s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mi_matrix(data, random_state=0, verbose=False)  # default steps (16 nets: 20,000)
    assert res.discrete == [False, False, False, True]
    assert np.allclose(res.mi, res.mi.T, equal_nan=True)
    assert np.isnan(res.mi[0, 0]) and res.mi[3, 3] == pytest.approx(math.log(2), abs=0.01)
    assert abs(res.mi[0, 1] - truth_ab) < 0.1 * max(1.0, truth_ab), (res.mi[0, 1], truth_ab)
    assert abs(res.mi[0, 3] - math.log(2)) < 0.1
    assert res.mi[0, 2] < 0.05 and res.mi[1, 3] < 0.05 and res.mi[2, 3] < 0.05


def test_mi_matrix_csv_and_bad_input(tmp_path):
    data = _gaussian_table(600, 0.8)[:, :3]
    res = mi_matrix(data, n_steps=30, verbose=False)
    res.to_csv(tmp_path / "m.csv")
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines[0] == ",x0,x1,x2" and lines[1].startswith("x0,,")
    assert len(res.pairs()) == 3 and json.loads(json.dumps(res.to_dict()))["names"] == ["x0", "x1", "x2"]
    with pytest.raises(ValueError, match="at least 2 columns"):
        mi_matrix(data[:, :1])
    bad = data.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mi_matrix(bad)
    with pytest.raises(ValueError, match="constant"):
        mi_matrix(np.column_stack([data, np.ones(600)]))
    with pytest.raises(ValueError, match="discrete"):
        mi_matrix(data, discrete=[0])


def test_feature_scores_rank_and_drop_into_select_k_best():
    from sklearn.feature_selection import SelectKBest
    from sklearn.pipeline import make_pipeline
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(6)
    X = rng.standard_normal((3000, 4))
    y = 0.9 * X[:, 2] + 0.3 * X[:, 0] + 0.3 * rng.standard_normal(3000)
    scores = mutual_info_regression(X, y, n_steps=600, verbose=False)
    assert scores.shape == (4,) and np.all(scores >= 0)
    assert np.argmax(scores) == 2 and scores[0] > max(scores[1], scores[3])
    pipe = make_pipeline(SelectKBest(lambda a, b: mutual_info_regression(
        a, b, n_steps=100, verbose=False), k=1), LinearRegression()).fit(X, y)
    assert pipe[0].get_support().tolist() == [False, False, True, False]
    labels = (X[:, 1] > 0).astype(int)
    # default steps (8 nets, 20,000); string labels, as scikit-learn takes them
    cls = mutual_info_classif(X, np.where(labels == 1, "pos", "neg"), verbose=False)
    assert np.argmax(cls) == 1 and cls[1] == pytest.approx(math.log(2), abs=0.15)
    with pytest.raises(ValueError, match="mixed types"):
        mutual_info_classif(X, np.array(["a", None] * 1500, dtype=object))
    with pytest.raises(ValueError, match="declared discrete but holds"):
        mutual_info_classif(X, y)  # a continuous target is not labels
    with pytest.raises(TypeError, match="n_neighbors"):
        mutual_info_regression(X, y, n_neighbors=3)
    with pytest.raises(ValueError, match="same number of samples"):
        mutual_info_regression(X, y[:10])


# ---------------------------------------------------------------- CLI
def test_discrete_flag_parsing():
    assert _discrete_arg(True) is True and _discrete_arg("auto") == "auto"
    assert _discrete_arg("none") is False and _discrete_arg("ALL") is True
    assert _discrete_arg("0,b,-1") == [0, "b", -1]


def test_cli_matrix_with_a_text_column(tmp_path, capsys):
    rng = np.random.default_rng(7)
    a = rng.standard_normal(500)
    path = tmp_path / "t.csv"
    with open(path, "w") as fh:
        fh.write("a,b,kind\n")
        for v in a:
            fh.write(f"{v:.5f},{v + rng.standard_normal():.5f},{'up' if v > 0 else 'down'}\n")
    out = tmp_path / "mi.csv"
    assert main(["matrix", str(path), "--out", str(out), "--steps", "30", "--quiet",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["names"] == ["a", "b", "kind"] and d["discrete"] == [False, False, True]
    assert d["mi"][2][2] == pytest.approx(math.log(2), abs=0.01) and d["mi"][0][0] is None
    assert out.read_text().splitlines()[0] == ",a,b,kind"
    assert main(["matrix", str(path), "--out", str(out), "--steps", "30", "--quiet",
                 "--target", "kind"]) == 0
    assert out.read_text().splitlines()[0] == "column,mi"
    assert main(["matrix", str(path), "--out", str(out), "--target", "nope"]) == 2
    assert "no column 'nope'" in capsys.readouterr().err
    typo = tmp_path / "typo.csv"
    typo.write_text("a,b\n" + "".join(f"{v:.3f},{'x' if i == 3 else v}\n" for i, v in enumerate(a)))
    assert main(["matrix", str(typo), "--out", str(out), "--steps", "30", "--quiet"]) == 2
    assert "column 'b' is not numeric (line 5: 'x') but holds numbers" in capsys.readouterr().err


def test_matrix_and_feature_scores_take_a_dataframe_with_text():
    pd = pytest.importorskip("pandas")
    from mmgap import mi_matrix, mutual_info_regression

    rng = np.random.default_rng(10)
    a = rng.standard_normal(500)
    df = pd.DataFrame({"a": a, "b": a + rng.standard_normal(500),
                       "kind": np.where(a > 0, "up", "down")})
    m = mi_matrix(df, n_steps=40, verbose=False)
    coded = mi_matrix(df.assign(kind=(a > 0).astype(int)), n_steps=40, verbose=False)
    assert m.names == ["a", "b", "kind"] and m.discrete == [False, False, True]
    assert np.array_equal(m.mi, coded.mi, equal_nan=True)  # "down" 0, "up" 1: the same fit
    assert mutual_info_regression(df[["a", "kind"]], df.b.values, n_steps=40).shape == (2,)
    with pytest.raises(ValueError, match="discrete: False, but column 'kind' of data holds text"):
        mi_matrix(df, discrete=False, n_steps=40, verbose=False)


def test_cli_matrix_with_a_npy_of_strings(tmp_path, capsys):
    """A 2-D .npy of strings is read as a CSV is: numbers stay numbers, text is categories,
    a number column with a stray word stops unless declared discrete."""
    rng = np.random.default_rng(9)
    a = rng.standard_normal(400)
    table = np.column_stack([np.char.mod("%.5f", a), np.where(a > 0, "up", "down")])
    path = tmp_path / "s.npy"
    np.save(path, table)
    out = tmp_path / "mi.csv"
    assert main(["matrix", str(path), "--out", str(out), "--steps", "30", "--quiet",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["names"] == ["x0", "x1"] and d["discrete"] == [False, True]
    assert d["mi"][1][1] == pytest.approx(math.log(2), abs=0.01)
    table[3, 0] = "oops"
    np.save(path, table)
    assert main(["matrix", str(path), "--out", str(out), "--steps", "30", "--quiet"]) == 2
    assert "column 'x0' is not numeric (row 3: 'oops') but holds numbers" in \
        capsys.readouterr().err
    table[:, 0] = np.char.mod("id%d", np.arange(400))  # all distinct: an identifier
    np.save(path, table)
    assert main(["matrix", str(path), "--out", str(out), "--steps", "30", "--quiet"]) == 2
    assert "an identifier rather than a category" in capsys.readouterr().err


def test_cli_estimate_x_discrete_names(tmp_path, capsys):
    rng = np.random.default_rng(8)
    k = rng.integers(0, 4, 400)
    path = tmp_path / "d.csv"
    with open(path, "w") as fh:
        fh.write("k,v,w\n")
        for i in range(400):
            fh.write(f"{k[i]},{k[i] + rng.random():.4f},{rng.standard_normal():.4f}\n")
    assert main(["estimate", str(path), "--x-cols", "k,w", "--y-cols", "v", "--x-discrete", "k",
                 "--steps", "50", "--permutations", "0", "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mi"] > 0
    assert main(["estimate", str(path), "--x-cols", "k,w", "--y-cols", "v", "--x-discrete", "v",
                 "--steps", "50", "--quiet"]) == 2
    assert "not among --x-cols" in capsys.readouterr().err
