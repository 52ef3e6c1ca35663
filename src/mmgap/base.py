"""sklearn-style parameter handling shared by all estimators (no sklearn dependency)."""

from __future__ import annotations

import inspect
from typing import Any, Dict

__all__ = ["ParamsMixin", "NotFittedError", "resolve_device"]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit`` (same bases as sklearn's)."""


class ParamsMixin:
    """``get_params`` / ``set_params`` / ``__repr__`` from the ``__init__`` signature.

    Subclasses store every constructor argument unchanged under the same name, and do no
    other work in ``__init__`` (so ``sklearn.base.clone`` works).
    """

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any):
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"{key}: not a parameter of {type(self).__name__}; "
                    f"valid parameters: {sorted(valid)}"
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for name in self._param_names():
            value = getattr(self, name)
            default = sig.parameters[name].default
            if value is not default and value != default:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _check_is_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(x, y) first"
            )


def resolve_device(device: Any):
    """'auto' -> CUDA when available, else CPU; any other value is parsed by torch.device.
    Raises ValueError for an unknown or unavailable device."""
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was requested but no CUDA device is available")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device: 'mps' was requested but MPS is not available")
    return dev
