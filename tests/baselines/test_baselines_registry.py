"""The baselines registry and what every registered baseline promises."""

import numpy as np
import pytest

import mmgap.baselines as baselines
from mmgap.baselines import BASELINES, GaussianMI, KSGEstimator, get_baseline, register_baseline
from mmgap.types import MIEstimator, MIResult


def test_registry_contents():
    assert BASELINES["ksg"] is KSGEstimator
    assert BASELINES["cca"] is GaussianMI
    assert {"infonce", "nwj", "dv", "mine", "minde"} <= set(BASELINES)
    assert set(baselines.__all__) <= set(dir(baselines))


def test_get_baseline_passes_params():
    est = get_baseline("ksg", k=3, units="bits")
    assert isinstance(est, KSGEstimator) and est.k == 3 and est.units == "bits"


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown baseline 'mien'.*'cca', .*'ksg', .*'mine'"):
        get_baseline("mien")


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_baseline_keeps_the_contract(name):
    cls = BASELINES[name]
    assert cls.name == name
    for attr in ("description", "reference"):
        text = getattr(cls, attr)
        assert isinstance(text, str) and text and "\n" not in text
    trained = "n_steps" in cls._param_names()
    est = get_baseline(name, **({"n_steps": 60, "verbose": False} if trained else {}))
    assert isinstance(est, MIEstimator)
    params = est.get_params()
    assert type(est)(**params).get_params() == params  # sklearn clone round trip
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 2))
    y = x[:, :1] + rng.standard_normal((400, 1))
    if getattr(cls, "discrete_only", False):  # plug-in estimators take integers only
        x, y = np.floor(x), np.floor(y)
    quantities = getattr(cls, "quantities", ("mi",))
    if "mi" in quantities:
        res = est.fit(x, y).estimate(x, y)
    elif "cmi" in quantities:  # I(X;Y|Z) baselines take the condition as a third array
        z = rng.standard_normal((400, 1))
        res = est.fit(x, y, z).estimate(x, y, z)
    else:  # entropy baselines take x alone
        res = est.fit(x).estimate(x)
    assert isinstance(res, MIResult) and res.variant == name and np.isfinite(res.mi)
    assert res.quantity in {"mi": ("mi",), "cmi": ("cmi",), "entropy": ("entropy",)}[quantities[0]]


def test_register_baseline_extends_and_refuses_clashes():
    class Dummy:
        name = "dummy"

    try:
        assert register_baseline(Dummy) is Dummy
        assert isinstance(get_baseline("dummy"), Dummy)
        with pytest.raises(ValueError, match="already registered"):
            register_baseline(type("Other", (), {"name": "dummy"}))
    finally:
        BASELINES.pop("dummy", None)
