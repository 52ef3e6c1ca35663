"""Imports run one way (DESIGN.md §2): maths does not know training, networks know only
torch, tasks only numpy/scipy, nothing below the CLI imports it."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mmgap"

ALLOWED = {
    "types.py": set(),
    "validation.py": set(),
    "base.py": set(),
    "logsnr.py": set(),
    "preprocessing.py": {"validation"},
    "networks.py": set(),
    "gap.py": {"logsnr", "types"},
    "adaptive.py": {"logsnr"},
    "training.py": {"logsnr", "gap", "distributed"},
    # torchrun helpers; torch imported lazily, torch.distributed only when launched
    "distributed.py": {"types"},
    "inference.py": {"logsnr", "gap", "types"},
    "persistence.py": {"base", "logsnr", "networks", "preprocessing", "training"},
    "plotting.py": {"types"},
    "dataio.py": set(),
    "images.py": set(),
    "selfcheck.py": {"types"},
    # the functionals above the estimator (issue 12)
    "entropy.py": {"estimator", "gap", "inference", "types", "validation"},
    "pointwise.py": {"estimator", "types", "validation"},
    # cross-fitting sits beside fit_estimate: folds of pointwise, pooling of inference
    "crossfit.py": {"distributed", "estimator", "inference", "parallel", "pointwise", "types",
                    "validation"},
    "parallel.py": set(),
    # the held-out estimate's control variate: maths plus the Gaussian denoiser, no network
    "control.py": {"gap", "training"},
}


def mmgap_imports(path: Path):
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level >= 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level >= 1:  # from . import x: x is a module, or a name of __init__
                for a in node.names:
                    module = (SRC / f"{a.name}.py").exists() or (SRC / a.name).is_dir()
                    found.add(a.name if module else "__init__")
            elif node.module and node.module.startswith("mmgap"):
                parts = node.module.split(".")
                found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("mmgap"):
                    parts = a.name.split(".")
                    found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_module_imports_only_lower_layers(module):
    assert mmgap_imports(SRC / module) <= ALLOWED[module]


def test_networks_and_gap_have_no_training_machinery():
    gap = (SRC / "gap.py").read_text()
    assert "(nn.Module)" not in gap and "torch.optim" not in gap and "from torch import nn" not in gap
    assert "logsnr" not in mmgap_imports(SRC / "networks.py")


def test_tasks_use_only_numpy_scipy():
    for path in (SRC / "tasks").glob("*.py"):
        text = path.read_text()
        assert "import torch" not in text, path
        assert mmgap_imports(path) <= {"tasks", "validation"}, (path, mmgap_imports(path))


def test_nothing_imports_the_cli():
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).parts
        if rel[0] not in ("cli", "__main__.py"):  # __main__: `python -m mmgap` runs it
            assert "cli" not in mmgap_imports(path), path


def test_bounds_and_critics_are_separate_from_training():
    base = SRC / "baselines"
    assert mmgap_imports(base / "bounds.py") == set()
    assert mmgap_imports(base / "critics.py") == set()
    assert "torch.optim" not in (base / "bounds.py").read_text()


def test_estimator_does_not_import_the_registry_or_the_api():
    """DESIGN.md §7: the one-call API sits above the method registry; the estimator imports
    neither (no cycle estimator -> methods -> baselines -> estimator). Its one use of the
    baselines is the KSG function of ``baselines/ksg.py`` for the k-NN check."""
    assert not mmgap_imports(SRC / "estimator.py") & {"methods", "api", "cli"}
    assert "from .baselines.ksg import" in (SRC / "estimator.py").read_text()
    assert "api" not in mmgap_imports(SRC / "methods.py")
