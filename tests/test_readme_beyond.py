"""The README's "Beyond I(X;Y)" Python example runs (with a tiny training budget)."""

import re
from pathlib import Path


def test_readme_beyond_mi_example_runs():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Beyond I(X;Y)", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "estimate_entropy" in code and "pointwise_mi" in code and "estimate_mi(x, y, z" in code
    code = code.replace("n_steps=2000", "n_steps=20, verbose=False").replace("print(", "str(")
    code = code.replace("n = 10_000", "n = 400")
    exec(compile(code, "README.md", "exec"), {})
