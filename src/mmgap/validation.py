"""Input checks shared by every estimator: shapes, dtypes, NaN/inf, lengths.

Every failure raises ``ValueError`` with a message that names the argument and what was
expected. Nothing is silently dropped, cast away or "fixed".
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Tuple

import numpy as np

#: bytes of float64 scratch per block when a large array is checked or preprocessed in pieces
#: (row blocks or column blocks): big enough that the per-block overhead is negligible, and
#: fixed, so that the scratch memory of a pass over the data does not grow with N (a
#: memory-mapped input is never read whole)
CHUNK_BYTES = 1 << 25


def chunk_rows(n_columns: int, itemsize: int = 8) -> int:
    """Rows per block for a table of ``n_columns`` columns (at least 1024)."""
    return max(1024, CHUNK_BYTES // max(1, int(n_columns) * int(itemsize)))


def row_blocks(a: Any, n_columns: Optional[int] = None) -> Iterator[Tuple[int, np.ndarray]]:
    """(start row, block) over the rows of a 2-D array, a memory map or a :class:`RowSubset`,
    each block an in-memory array of at most :func:`chunk_rows` rows."""
    n = a.shape[0]
    step = chunk_rows(a.shape[1] if n_columns is None else n_columns)
    for start in range(0, n, step):
        yield start, np.asarray(a[start:start + step])


def column_blocks(n_rows: int, n_columns: int) -> Iterator[slice]:
    """Slices of columns, each about :data:`CHUNK_BYTES` of float64 over ``n_rows`` rows and
    never a single column out of several: reductions over the rows of a C-ordered block of
    two or more columns add the rows in the same order as over the whole table, so blocked
    statistics are bit-identical to whole-table ones."""
    width = max(2, CHUNK_BYTES // max(1, 8 * int(n_rows)))
    start = 0
    while start < n_columns:
        stop = min(n_columns, start + width)
        if n_columns - stop == 1:  # no single trailing column
            stop = n_columns
        yield slice(start, stop)
        start = stop


class RowSubset:
    """Rows ``rows`` of a 2-D array (often a memory map), not copied: what
    :func:`mmgap.estimator.fit_estimate` hands to ``fit`` so that a large input is read block by
    block instead of being gathered whole. Indexing returns in-memory arrays
    (``subset[a:b]``, ``subset[:, j]``, ``subset[idx, cols]``); ``np.asarray(subset)``
    gathers every row (what any code that needs the whole table gets)."""

    def __init__(self, base: Any, rows: np.ndarray):
        self.base = base
        self.rows = np.asarray(rows, dtype=np.int64)
        self.shape = (int(self.rows.shape[0]),) + tuple(base.shape[1:])
        self.ndim = len(self.shape)
        self.dtype = base.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        r = self.rows[key[0]]
        if len(key) == 1:
            return np.asarray(self.base[r])
        c = key[1]
        if np.ndim(r) == 0 or isinstance(c, (slice, int, np.integer)):
            return np.asarray(self.base[(r,) + key[1:]])
        return np.asarray(self.base[np.ix_(r, np.asarray(c))])

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self.base[self.rows])
        return out if dtype is None else out.astype(dtype, copy=False)


def _column_names(a: Any) -> Optional[list]:
    cols = getattr(a, "columns", None)
    if cols is not None:
        return [str(c) for c in cols]
    name = getattr(a, "name", None)
    if name is not None and hasattr(a, "dtype") and hasattr(a, "index"):
        return [str(name)]
    return None


_CODE_HINT = ("; code text labels as integers first (e.g. np.unique(y, return_inverse=True)[1]: "
              "integer columns with few values are discrete by default)")


def as_2d_array(a: Any, name: str, *, dtype=np.float64) -> np.ndarray:
    """Convert numpy / pandas / torch / nested-list input to a 2-D array of ``dtype``.

    A 1-D input is one column. Raises ValueError for non-numeric data, ndim > 2, or an
    empty array. Shape of the result: (n_samples, n_columns).

    ``dtype=None``: float32 and float64 input is returned as it is, not copied (a read-only
    memory map stays one, a :class:`RowSubset` stays one); other numeric input becomes float64.
    The caller then reads it in blocks (:func:`row_blocks`, :func:`column_blocks`).
    """
    if a is None:
        raise ValueError(f"{name}: expected an array of samples, got None")
    if isinstance(a, RowSubset):
        if dtype is None and a.dtype in (np.float32, np.float64) and a.ndim == 2 \
                and 0 not in a.shape:
            return a
        a = np.asarray(a)
    cols = _column_names(a)
    if hasattr(a, "dtypes") and cols is not None and hasattr(a, "iloc"):
        # pandas DataFrame: report the first non-numeric column by name
        dtypes = getattr(a, "dtypes")
        dtypes = list(dtypes) if hasattr(dtypes, "__iter__") else [dtypes]
        for col, dt in zip(cols, dtypes):
            if getattr(dt, "kind", "O") not in "biuf":
                raise ValueError(
                    f"{name}: column {col!r} is not numeric (dtype {dt}); "
                    "select numeric columns or code it as integers first (e.g. "
                    "np.unique(col, return_inverse=True)[1]; then it is discrete)"
                )
        a = a.to_numpy()
    elif hasattr(a, "detach") and hasattr(a, "cpu"):  # torch tensor
        a = a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        if arr.dtype.kind == "O":
            try:
                arr = arr.astype(dtype)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{name}: expected numeric values, got non-numeric entries (dtype object)"
                    f"{_CODE_HINT}") from None
        else:
            raise ValueError(f"{name}: expected numeric values, got dtype {arr.dtype}{_CODE_HINT}")
    if arr.ndim == 0:
        raise ValueError(f"{name}: expected a 1-D or 2-D array of samples, got a scalar")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected a 1-D or 2-D array (n_samples, n_features), got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    if dtype is None:
        if arr.dtype in (np.float32, np.float64):
            return arr
        dtype = np.float64
    if isinstance(a, np.memmap):  # read into memory (writable) for callers that take arrays whole
        return np.array(arr, dtype=dtype, order="C")
    return np.ascontiguousarray(arr, dtype=dtype)


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise ValueError naming the first row with NaN or inf (read in row blocks)."""
    first, n_rows = None, 0
    for start, block in row_blocks(arr):
        bad = ~np.isfinite(block)
        if bad.any():
            if first is None:
                row, col = np.argwhere(bad)[0]
                first = (start + int(row), int(col), np.isnan(block[row, col]))
            n_rows += int(bad.any(axis=1).sum())
    if first is not None:
        row, col, is_nan = first
        kind = "NaN" if is_nan else "inf"
        raise ValueError(
            f"{name}: contains {kind} (first at row {row}, column {col}; "
            f"{n_rows} row(s) affected); remove or impute them first"
        )
    return arr


def check_random_state(value: Any, name: str = "random_state") -> Any:
    """None or an integer >= 0 (what seeds numpy's and torch's generators); else ValueError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name}: expected None or an integer >= 0, got {value!r}")
    return int(value)


def column_scales(arr: np.ndarray) -> np.ndarray:
    """Per-column max |value| (1 for an all-zero column), shape (n_columns,). Dividing by it
    first keeps sums of squares finite and non-zero for any finite float64 data (1e-300 or
    1e300 alike); MI does not change under per-column scaling."""
    s = np.max(np.abs(arr), axis=0) if arr.shape[0] else np.ones(arr.shape[1])
    return np.where(s > 0, s, 1.0)


def equal_columns(x: np.ndarray, y: np.ndarray, max_pairs: int = 250_000) -> list:
    """Pairs (i, j) with column i of x identical to column j of y (then I(X;Y) is infinite
    for continuous data). Checks at most ``max_pairs`` pairs: candidates are the pairs that
    agree on the first rows, then confirmed over all rows in row blocks."""
    if x.shape[1] * y.shape[1] > max_pairs or x.shape[0] == 0:
        return []
    head = min(x.shape[0], 64)
    xh, yh = np.asarray(x[:head]), np.asarray(y[:head])
    same = np.ones((x.shape[1], y.shape[1]), dtype=bool)
    for r in range(head):
        same &= xh[r][:, None] == yh[r][None, :]
    ci, cj = np.nonzero(same)
    if ci.size and head < x.shape[0]:
        step = chunk_rows(x.shape[1] + y.shape[1])
        for start in range(head, x.shape[0], step):
            xb, yb = np.asarray(x[start:start + step]), np.asarray(y[start:start + step])
            keep = np.ones(ci.size, dtype=bool)
            for g in range(0, ci.size, 256):  # at most 256 candidate pairs compared at once
                keep[g:g + 256] = np.all(xb[:, ci[g:g + 256]] == yb[:, cj[g:g + 256]], axis=0)
            ci, cj = ci[keep], cj[keep]
            if not ci.size:
                break
    return [(int(i), int(j)) for i, j in zip(ci, cj)]


def check_not_constant(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise ValueError if a column has a single value (it carries no information and
    cannot be standardised)."""
    lo = hi = None
    for _, block in row_blocks(arr):
        bmin, bmax = block.min(axis=0), block.max(axis=0)
        lo = bmin if lo is None else np.minimum(lo, bmin)
        hi = bmax if hi is None else np.maximum(hi, bmax)
    const = np.flatnonzero(hi == lo)
    if const.size:
        raise ValueError(
            f"{name}: column {int(const[0])} is constant; drop constant columns first"
        )
    return arr


def as_labels(a: Any, name: str) -> np.ndarray:
    """Integer class labels, shape (n_samples,). Accepts integer arrays and floats that are
    whole numbers; raises ValueError otherwise."""
    raw = a.detach().cpu().numpy() if hasattr(a, "detach") and hasattr(a, "cpu") else a
    if hasattr(raw, "to_numpy"):
        raw = raw.to_numpy()
    raw = np.asarray(raw) if not isinstance(raw, np.ndarray) else raw
    if raw.dtype.kind in "iub" and raw.ndim in (1, 2):  # integers stay exact (no float64 trip)
        if raw.size == 0:
            raise ValueError(f"{name}: expected at least one label, got an empty array")
        if raw.ndim == 2 and raw.shape[1] != 1:
            raise ValueError(
                f"{name}: discrete labels must be one column of integers, got shape {raw.shape}"
            )
        if raw.dtype.kind == "u" and raw.dtype.itemsize == 8 and raw.size and raw.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{name}: labels above 2**63 - 1 are not supported")
        return raw.reshape(-1).astype(np.int64)
    arr = as_2d_array(a, name, dtype=np.float64)
    if arr.shape[1] != 1:
        raise ValueError(
            f"{name}: discrete labels must be one column of integers, got shape {arr.shape}"
        )
    check_finite(arr, name)
    if np.any(np.abs(arr) > 2.0 ** 53):
        raise ValueError(f"{name}: float labels above 2**53 are not exact integers; pass them "
                         "as an integer array")
    flat = arr[:, 0]
    if not np.all(flat == np.round(flat)):
        row = int(np.flatnonzero(flat != np.round(flat))[0])
        raise ValueError(
            f"{name}: discrete labels must be integers, got {flat[row]!r} at row {row}"
        )
    return flat.astype(np.int64)


def check_xy(
    x: Any,
    y: Any,
    *,
    y_discrete: bool = False,
    min_samples: int = 2,
    check_constant: bool = False,
    x_name: str = "x",
    y_name: str = "y",
    dtype=np.float64,
) -> Tuple[np.ndarray, np.ndarray]:
    """Validate a pair of sample arrays.

    Returns ``(x, y)`` with x of shape (n, dim_x) float64 and y of shape (n, dim_y) float64,
    or y of shape (n,) int64 when ``y_discrete``. ``dtype=None``: float32 and float64 input
    (memory maps included) is checked in row blocks and returned uncopied (see
    :func:`as_2d_array`).
    """
    xa = check_finite(as_2d_array(x, x_name, dtype=dtype), x_name)
    if y_discrete:
        ya = as_labels(y, y_name)
    else:
        ya = check_finite(as_2d_array(y, y_name, dtype=dtype), y_name)
    if xa.shape[0] != ya.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name}: expected the same number of samples (rows), "
            f"got {xa.shape[0]} and {ya.shape[0]}"
        )
    if xa.shape[0] < min_samples:
        raise ValueError(
            f"{x_name}: expected at least {min_samples} samples, got {xa.shape[0]}"
        )
    if check_constant:
        check_not_constant(xa, x_name)
        if not y_discrete:
            check_not_constant(ya, y_name)
        elif np.unique(ya).size < 2:
            raise ValueError(f"{y_name}: discrete labels take a single value; need at least 2 classes")
    return xa, ya


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def check_fraction(value: Any, name: str, *, low: float = 0.0, high: float = 1.0,
                   inclusive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number in ({low}, {high}), got {value!r}") from None
    ok = (low <= v <= high) if inclusive else (low < v < high)
    if not ok:
        br = "[]" if inclusive else "()"
        raise ValueError(f"{name}: expected a number in {br[0]}{low}, {high}{br[1]}, got {value!r}")
    return v


def check_training_params(est: Any) -> None:
    """The optimiser settings every trained estimator shares, read from ``est``:
    learning_rate > 0, weight_decay >= 0 or None (auto), ema_decay in (0, 1), validation_fraction in
    [0, 0.5], patience a positive int or None, max_seconds > 0 or None."""
    lr, wd, ms = est.learning_rate, est.weight_decay, est.max_seconds
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"learning_rate: expected a positive number, got {lr!r}")
    if wd is not None and (isinstance(wd, bool) or not (isinstance(wd, (int, float)) and wd >= 0)):
        raise ValueError(f"weight_decay: expected a number >= 0, got {wd!r}")
    check_fraction(est.ema_decay, "ema_decay", low=0.0, high=1.0)
    check_fraction(est.validation_fraction, "validation_fraction", low=0.0, high=0.5,
                   inclusive=True)
    if est.patience is not None:
        check_positive_int(est.patience, "patience")
    if ms is not None and not (isinstance(ms, (int, float)) and ms > 0):
        raise ValueError(f"max_seconds: expected a positive number or None, got {ms!r}")


def split_image(a: Any, name: str) -> Tuple[Any, Optional[Tuple[int, int, int]]]:
    """Image-shaped samples -> (flattened (n, C*H*W) float array, (C, H, W)); anything of
    at most 2 dimensions is returned unchanged with shape None.

    (n, H, W) is one channel; (n, C, H, W) is channels-first. Flattening is channel-major,
    the order :class:`mmgap.networks.ConvUNet` expects.
    """
    ndim = getattr(a, "ndim", None)
    if ndim is None:
        ndim = np.ndim(a)
    if ndim < 3:
        return a, None
    if hasattr(a, "detach") and hasattr(a, "cpu"):
        a = a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected numeric images, got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or min(arr.shape) == 0:
        raise ValueError(f"{name}: expected images of shape (n, H, W) or (n, C, H, W), got {arr.shape}")
    shape = tuple(int(v) for v in arr.shape[1:])
    return arr.reshape(arr.shape[0], -1).astype(np.float64), shape


#: "auto" calls a column discrete when all its values are integers (or booleans) and it takes
#: at most this many distinct values (and at most a quarter of the number of rows)
AUTO_MAX_CLASSES = 50


def check_discrete_spec(spec: Any, name: str) -> None:
    """``spec`` of ``x_discrete`` / ``y_discrete`` / ``z_discrete``: True, False, "auto" or a
    list of column indices or names; ValueError naming ``name`` otherwise."""
    if isinstance(spec, (bool, np.bool_)) or spec is None:
        return
    if isinstance(spec, str):
        if spec != "auto":
            raise ValueError(f"{name}: expected True, False, 'auto' or a list of columns, "
                             f"got {spec!r}")
        return
    if isinstance(spec, (list, tuple, np.ndarray)):
        for c in spec:
            if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer, str)):
                raise ValueError(f"{name}: columns must be integer indices or names, got {c!r}")
        if len(set(spec)) != len(spec):
            raise ValueError(f"{name}: a column is listed twice in {list(spec)}")
        return
    raise ValueError(f"{name}: expected True, False, 'auto' or a list of columns, got {spec!r}")


def integer_valued(col: np.ndarray, axis: Optional[int] = None):
    """True when every value of ``col`` (finite floats) is a whole number; with ``axis``,
    that test per column (a boolean array, e.g. ``axis=0`` over the rows of a block)."""
    ok = np.all(col == np.round(col), axis=axis)
    return bool(ok) if axis is None else ok


def resolve_discrete(spec: Any, arr: np.ndarray, name: str, param: str,
                     names: Optional[list] = None) -> list:
    """The discrete columns of ``arr`` (n, d) according to ``spec`` (see
    :func:`check_discrete_spec`), as sorted indices.

    ``"auto"``: the columns whose values are all integers and that take at most
    :data:`AUTO_MAX_CLASSES` distinct values (and at most n/4 of them). True: every column
    (each must hold integers). A list: those columns (indices, or names when ``names`` gives
    the column names), each of which must hold integers. Raises ValueError naming ``param``.
    """
    check_discrete_spec(spec, param)
    d = arr.shape[1]
    if spec is None or spec is False or (isinstance(spec, (bool, np.bool_)) and not spec):
        return []
    if isinstance(spec, str):  # "auto"
        limit = min(AUTO_MAX_CLASSES, max(2, arr.shape[0] // 4))
        whole = np.ones(d, dtype=bool)  # columns integer-valued in every row so far
        for _, block in row_blocks(arr):
            whole[whole] = integer_valued(block[:, whole], axis=0)
            if not whole.any():
                break
        return [int(j) for j in np.flatnonzero(whole) if 2 <= np.unique(arr[:, j]).size <= limit]
    if isinstance(spec, (bool, np.bool_)):
        cols = list(range(d))
    else:
        cols = []
        for c in spec:
            if isinstance(c, str):
                if names is None or c not in names:
                    known = f"; columns are {names[:20]}" if names else " (the data has no column names)"
                    raise ValueError(f"{param}: no column named {c!r} in {name}{known}")
                cols.append(names.index(c))
            else:
                j = int(c) + (d if int(c) < 0 else 0)
                if not 0 <= j < d:
                    raise ValueError(f"{param}: column {int(c)} is out of range for {name} "
                                     f"with {d} columns")
                cols.append(j)
        if len(set(cols)) != len(cols):
            raise ValueError(f"{param}: a column is listed twice in {list(spec)}")
    for j in cols:
        col = arr[:, j]
        if not integer_valued(col):
            row = int(np.flatnonzero(col != np.round(col))[0])
            label = names[j] if names else j
            raise ValueError(f"{param}: column {label!r} of {name} is declared discrete but holds "
                             f"{float(col[row])!r} at row {row}; discrete columns must hold integers")
        if np.unique(col).size < 2:
            raise ValueError(f"{name}: discrete column {j} takes a single value; drop it")
    return sorted(cols)


def is_text_labels(a: Any) -> bool:
    """``a`` is one column (1-D, or (n, 1)) of non-numeric labels: strings, or objects that
    are not all numbers (a torch tensor or a numeric array never is)."""
    if a is None or hasattr(a, "detach"):
        return False
    raw = a.to_numpy() if hasattr(a, "to_numpy") else a
    if hasattr(raw, "dtypes") or isinstance(a, RowSubset):
        return False
    try:
        arr = np.asarray(raw)
    except (TypeError, ValueError):
        return False
    if arr.dtype.kind in "biufc" or not (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1)):
        return False
    if arr.dtype.kind == "O":  # objects: text labels unless every entry is a number
        try:
            arr.astype(np.float64)
            return False
        except (TypeError, ValueError):
            return True
    return arr.dtype.kind in "US"


def code_text_frame(a: Any, name: str, spec: Any, param: str) -> Tuple[Any, Any, list]:
    """A pandas DataFrame ``a`` with text (or categorical) columns, and its discrete ``spec``
    (see :func:`check_discrete_spec`), as a numeric array, a spec of positions and the
    positions of the text columns: each text column becomes the codes 0, 1, ... of its
    sorted distinct values and is discrete, as in the CLI. An object column that holds only numbers is read as numbers. Anything else
    (no DataFrame, no text column) is returned unchanged, with no text columns.

    Raises ValueError naming ``param`` when ``spec`` is False but a column holds text, and
    for a text column with more distinct values than half its rows (an identifier rather
    than a category) that ``spec`` does not name."""
    cols = _column_names(a)
    if not (hasattr(a, "columns") and hasattr(a, "iloc") and cols is not None):
        return a, spec, []  # not a DataFrame (a Series of text is one column of labels)
    text, numeric, raw = [], {}, {}
    for j, dt in enumerate(a.dtypes):
        if getattr(dt, "kind", "O") in "biuf":
            continue
        if getattr(dt, "kind", "O") not in "OUS" and str(dt) != "category":
            continue  # dates and the like: as_2d_array names them
        values = np.asarray(a.iloc[:, j], dtype=object)
        try:
            numeric[j] = values.astype(np.float64)
        except (TypeError, ValueError):
            text.append(j)
            raw[j] = values
    if not text and not numeric:
        return a, spec, []
    check_discrete_spec(spec, param)
    if spec is False or spec is None or (isinstance(spec, (bool, np.bool_)) and not spec):
        if text:
            raise ValueError(f"{param}: False, but column {cols[text[0]]!r} of {name} holds "
                             "text, which can be read only as categories; drop that column "
                             f"or leave {param} as 'auto'")
    declared = set()
    if isinstance(spec, (list, tuple)):
        declared = {cols.index(c) if isinstance(c, str) and c in cols else c for c in spec}
    out = np.empty(a.shape, dtype=np.float64)
    for j in range(len(cols)):
        if j in numeric:
            out[:, j] = numeric[j]
        elif j in raw:
            values = raw[j]
            try:
                levels, codes = np.unique(values, return_inverse=True)
            except TypeError:
                raise ValueError(f"{name}: column {cols[j]!r} mixes text with other values "
                                 "(e.g. None or numbers); give labels of one type") from None
            if len(levels) > len(values) / 2 and spec is not True and j not in declared:
                raise ValueError(f"{name}: text column {cols[j]!r} has {len(levels)} distinct "
                                 f"values in {len(values)} rows: an identifier rather than a "
                                 f"category? Drop it, or list it in {param} to use it anyway")
            out[:, j] = codes.reshape(-1)
        else:
            out[:, j] = as_2d_array(a.iloc[:, [j]], name)[:, 0]
    if spec is True or spec is np.True_:
        return out, True, text
    if isinstance(spec, str):  # "auto": the integer columns it would pick, and the text ones
        spec = resolve_discrete("auto", out, name, param)
    elif isinstance(spec, (list, tuple)):  # the coded text columns hold integers: accepted
        spec = resolve_discrete(list(spec), out, name, param, names=cols)
    else:
        spec = []
    return out, sorted(set(spec) | set(text)), text


def code_text_inputs(arrays: dict, params: dict, *, mmg: bool = True,
                     method: str = "mmg") -> list:
    """The values of ``arrays`` (name -> x, y or z) with text coded as categories, as
    :func:`mmgap.estimate_mi` takes them: one column of text labels becomes codes 0, 1, ...
    with ``params[name + "_discrete"] = True``; a DataFrame's text columns are coded by
    :func:`code_text_frame` and added to that spec. Without ``mmg`` (a baseline, which takes
    no discrete columns) only y may hold labels. ``params`` is updated in place."""
    out = []
    for name, v in arrays.items():
        key = f"{name}_discrete"
        if is_text_labels(v):
            if params.get(key, "auto") is False:
                raise ValueError(f"{key}: False, but {name} holds text labels, which can be "
                                 "read only as categories")
            if name != "y" and not mmg:
                raise ValueError(f"{name}: holds text labels, and method {method!r} takes no "
                                 "discrete columns; use an MMG method")
            v = label_codes(v, name)
            params[key] = True
        elif v is not None:  # a DataFrame with text columns among others (as in the CLI)
            v2, spec, text = code_text_frame(v, name, params.get(key, "auto"), key)
            if text and not mmg:
                raise ValueError(f"{name}: has text columns, and method {method!r} takes no "
                                 "discrete columns; use an MMG method")
            if text:
                params[key] = spec
            v = v2
        out.append(v)
    return out


def label_codes(y: Any, name: str = "y") -> Any:
    """Class labels of any orderable kind (strings, ...) as integer codes 0..k-1 of their
    sorted distinct values, as scikit-learn's classifiers take them; numeric input passes
    through unchanged."""
    if not is_text_labels(y):
        return y
    arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y).reshape(-1)
    try:
        return np.unique(arr, return_inverse=True)[1].reshape(-1)
    except TypeError:
        raise ValueError(f"{name}: class labels of mixed types (e.g. strings and None) cannot "
                         "be ordered; give labels of one type") from None


def label_column(spec: Any, y: Any, name: str, param: str) -> bool:
    """True when ``y`` is one column of class labels under ``spec`` (True, "auto" with an
    integer column of few values, or a list naming its only column): then it is handled as
    labels (one-hot, stratified splits, the bound I <= H(labels))."""
    check_discrete_spec(spec, param)
    if spec is None or spec is False or isinstance(spec, (bool, np.bool_)) and not spec:
        return False
    raw = y.detach().cpu().numpy() if hasattr(y, "detach") and hasattr(y, "cpu") else y
    if hasattr(raw, "to_numpy"):
        raw = raw.to_numpy()
    shape = np.shape(raw)
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        return False
    if isinstance(spec, (bool, np.bool_)):
        return True
    if isinstance(spec, (list, tuple, np.ndarray)):
        return len(spec) == 1
    try:
        arr = np.asarray(raw, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return False
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        return False
    return bool(resolve_discrete("auto", arr[:, None], name, param))
