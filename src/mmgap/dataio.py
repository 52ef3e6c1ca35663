"""Reading sample arrays from files for the CLI: .npz, .npy, .csv, .parquet.

Every problem raises :class:`DataError` (a ValueError) with one line naming the file, the
array or column, and what was expected.
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["DataError", "load_array", "load_xy", "parse_columns"]

SUFFIXES = (".npz", ".npy", ".csv", ".parquet")


class DataError(ValueError):
    """A data file cannot be used."""


def parse_columns(spec: Optional[str]) -> Optional[List[str]]:
    """'a,b,c' -> ['a', 'b', 'c']; None stays None."""
    if spec is None:
        return None
    cols = [c.strip() for c in spec.split(",") if c.strip()]
    if not cols:
        raise DataError(f"column list: expected comma-separated names or indices, got {spec!r}")
    return cols


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    if path.suffix.lower() not in SUFFIXES:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}; expected one of {', '.join(SUFFIXES)}")


def _read_csv(path: Path) -> Tuple[List[str], List[List[str]], bool]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:  # a UTF-8 BOM is not data
            sample = fh.read(65536)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ")
            except csv.Error:
                dialect = csv.excel
            rows = [r for r in csv.reader(fh, dialect) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({err})") from None
    if not rows:
        raise DataError(f"{path}: the file is empty")

    has_header = not all(_is_number(c) or not c.strip() for c in rows[0])
    header = [c.strip() for c in rows[0]] if has_header else [str(i) for i in range(len(rows[0]))]
    body = rows[1:] if has_header else rows
    return header, body, has_header


def _select(header: Sequence[str], cols: Optional[Sequence[str]], path: Path) -> List[int]:
    if cols is None:
        return list(range(len(header)))
    out = []
    for c in cols:
        if c in header:
            out.append(list(header).index(c))
        elif c.lstrip("-").isdigit() and -len(header) <= int(c) < len(header):
            out.append(int(c) % len(header))
        else:
            raise DataError(f"{path}: no column {c!r}; columns are {', '.join(header[:20])}")
    return out


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _declared(declared, j: int, name: str) -> bool:
    """Column ``j`` of the selection (named ``name``) is declared discrete by ``declared``:
    True (every column), or a list of positions within the selection and/or names."""
    if declared is True:
        return True
    if isinstance(declared, (list, tuple, set)):
        return j in declared or name in declared
    return False


def _codes(cells: Sequence[str], path: Path, name: str, declared: bool) -> List[int]:
    """Category codes: the distinct strings, sorted, become 0, 1, ... A text column whose
    values are nearly all distinct (more than half the rows) looks like an identifier, not a
    category: refused unless ``declared``."""
    levels = sorted(set(cells))
    if len(levels) > len(cells) / 2 and not declared:
        raise DataError(f"{path}: text column {name!r} has {len(levels)} distinct values in "
                        f"{len(cells)} rows: an identifier rather than a category? Drop it, or "
                        "declare it discrete to use it anyway")
    code = {v: i for i, v in enumerate(levels)}
    return [code[v] for v in cells]


def _csv_array(path: Path, cols: Optional[Sequence[str]], text: Optional[List[int]] = None,
               declared=None) -> np.ndarray:
    """The selected columns as floats. With ``text`` (a list to fill), a column of text is read
    as categories instead: its distinct strings, sorted, become the codes 0, 1, ..., and its
    position is appended to ``text``. A column that mixes numbers and text (often a typo in a
    numeric column) is read so only when ``declared`` names it (see :func:`_declared`)."""
    header, body, has_header = _read_csv(path)
    idx = _select(header, cols, path)
    if not body:
        raise DataError(f"{path}: no data rows")
    first_line = 2 if has_header else 1
    out = np.empty((len(body), len(idx)), dtype=np.float64)
    first_text = {}  # position -> (line, cell) of its first non-numeric cell
    for r, row in enumerate(body):
        if len(row) != len(header):
            raise DataError(
                f"{path}: line {r + first_line} has {len(row)} fields, expected {len(header)}"
            )
        for j, c in enumerate(idx):
            cell = row[c].strip()
            if cell == "":
                out[r, j] = math.nan
                continue
            try:
                out[r, j] = float(cell)
            except ValueError:
                if text is None:
                    raise DataError(
                        f"{path}: column {header[c]!r} is not numeric (line {r + first_line}: "
                        f"{cell!r})") from None
                first_text.setdefault(j, (r + first_line, cell))
    for j, (line, cell) in sorted(first_text.items()):
        name = header[idx[j]]
        cells = [row[idx[j]].strip() for row in body]
        if any(_is_number(v) for v in cells) and not _declared(declared, j, name):
            raise DataError(
                f"{path}: column {name!r} is not numeric (line {line}: {cell!r}) but holds "
                "numbers elsewhere; fix the cell, or declare the column discrete to read every "
                "value as a category")
        if "" in cells:
            raise DataError(f"{path}: text column {name!r} has an empty cell (line "
                            f"{cells.index('') + first_line}); fill or drop missing values first")
        out[:, j] = _codes(cells, path, name, _declared(declared, j, name))
        text.append(j)
    return out


def _parquet_array(path: Path, cols: Optional[Sequence[str]],
                   text: Optional[List[int]] = None, declared=None) -> np.ndarray:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{path}: reading parquet needs pyarrow (pip install 'mmgap[io]')") from None
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for corrupt files
        raise DataError(f"{path}: cannot read parquet ({err})") from None
    header = list(table.column_names)
    idx = _select(header, cols, path)
    columns = []
    for j, i in enumerate(idx):
        col = table.column(i)
        try:
            arr = col.to_numpy(zero_copy_only=False)
        except Exception:
            arr = np.asarray(col.to_pylist(), dtype=object)
        if arr.dtype.kind not in "biuf":
            if text is None or arr.dtype.kind not in "OUS" or col.null_count:
                why = "has a missing value" if text is not None and col.null_count else "is not numeric"
                raise DataError(f"{path}: column {header[i]!r} {why} (type {col.type})")
            arr = np.asarray(_codes([str(v) for v in arr], path, header[i],
                                    _declared(declared, j, header[i])), dtype=np.float64)
            text.append(j)
        columns.append(arr.astype(np.float64))
    return np.column_stack(columns)


def load_array(path: str, *, key: Optional[str] = None, columns: Optional[Sequence[str]] = None,
               name: str = "x", mmap: bool = True, text: Optional[List[int]] = None,
               declared=None) -> np.ndarray:
    """Read one array. ``key`` picks an array inside a .npz; ``columns`` picks CSV/parquet
    columns (names or 0-based indices).

    With ``text`` (a list to fill), CSV/parquet text columns are read as categories (codes
    0, 1, ... of their sorted distinct values) and their positions appended to ``text``; a CSV
    column mixing numbers and text, or a text column with more distinct values than half its
    rows (an identifier?), only when ``declared`` (True, or positions/names) names it.
    Without ``text`` a text cell is an error.

    A .npy file is memory-mapped read-only (``mmap=True``, the default): nothing is read until
    used, and the estimators read it in blocks, so a file larger than memory can be used.
    ``mmap=False`` (or a .npz, .csv, .parquet file) reads it into memory."""
    p = Path(path)
    _check_file(p)
    suffix = p.suffix.lower()
    if columns is not None and suffix in (".npy", ".npz"):
        raise DataError(f"{p}: column selection (--{name}-cols) applies to .csv and .parquet files only")
    if suffix == ".csv":
        return _csv_array(p, columns, text, declared)
    if suffix == ".parquet":
        return _parquet_array(p, columns, text, declared)
    with open(p, "rb") as fh:
        magic = fh.read(6)
    if suffix == ".npz" and not magic.startswith(b"PK"):
        raise DataError(f"{p}: cannot read: not an .npz (zip) file")
    mmap_mode = None
    if suffix == ".npy":
        with open(p, "rb") as fh:
            declared = _check_npy_header(fh, os.path.getsize(p), str(p))
        mmap_mode = "r" if mmap and declared > 0 else None  # an empty map cannot be made
    try:
        obj = np.load(p, allow_pickle=False, mmap_mode=mmap_mode)
    except ValueError as err:
        raise DataError(f"{p}: {_numpy_reason(err)}") from None
    except (OSError, EOFError) as err:
        raise DataError(f"{p}: cannot read ({err})") from None
    if suffix == ".npz":
        with obj:
            k = key or name
            if k not in obj.files:
                raise DataError(f"{p}: no array {k!r}; arrays are {', '.join(obj.files) or '(none)'}")
            info = obj.zip.getinfo(k + ".npy") if (k + ".npy") in obj.zip.namelist() else None
            if info is not None:
                with obj.zip.open(info) as member:
                    _check_npy_header(member, info.file_size, f"{p} (array {k!r})")
            try:
                return np.asarray(obj[k])
            except ValueError as err:
                raise DataError(f"{p}: array {k!r}: {_numpy_reason(err)}") from None
            except (OSError, EOFError, zipfile.BadZipFile) as err:
                raise DataError(f"{p}: array {k!r} cannot be read ({err})") from None
    return obj if mmap_mode else np.asarray(obj)


def load_table(path: str, *, columns: Optional[Sequence[str]] = None,
               key: Optional[str] = None, text: Optional[List[int]] = None,
               declared=None) -> Tuple[np.ndarray, List[str]]:
    """A 2-D table and its column names: a .csv/.parquet (its header, or 0, 1, ... without
    one; ``columns`` selects) or a 2-D .npy/.npz array (names x0, x1, ...). With ``text``
    (a list to fill), text columns become category codes (see :func:`load_array`, which also
    says what ``declared`` does) and their positions are appended to it."""
    p = Path(path)
    _check_file(p)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        header = _read_csv(p)[0]
        arr = _csv_array(p, columns, text, declared)
        return arr, [header[i] for i in _select(header, columns, p)]
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq

            header = list(pq.read_schema(p).names)
        except Exception:
            header = None  # load_array reports why
    else:
        header = None
    arr = load_array(path, key=key, columns=columns, name="data", text=text, declared=declared)
    if arr.ndim != 2:
        raise DataError(f"{p}: expected a 2-D table (rows x columns), got shape {arr.shape}")
    if header is None:
        names = [f"x{j}" for j in range(arr.shape[1])]
    else:
        names = [header[i] for i in _select(header, columns, p)]
    if arr.dtype.kind in "US" and text is not None:  # a .npy/.npz table of strings
        arr = _string_table(arr, p, names, text, declared)
    return arr, names


def _string_table(arr: np.ndarray, path: Path, names: List[str], text: List[int],
                  declared) -> np.ndarray:
    """A 2-D array of strings read column by column as a CSV is: a column of numbers (an
    empty string is missing) is numeric; a column of text is categories (see :func:`_codes`),
    its position appended to ``text``; a column mixing both only when ``declared`` names it."""
    out = np.empty(arr.shape, dtype=np.float64)
    for j, name in enumerate(names):
        cells = [str(v).strip() for v in arr[:, j]]
        bad = [r for r, v in enumerate(cells) if v != "" and not _is_number(v)]
        if not bad:
            out[:, j] = [float(v) if v != "" else math.nan for v in cells]
            continue
        is_declared = _declared(declared, j, name)
        if any(v != "" and _is_number(v) for v in cells) and not is_declared:
            r = bad[0]
            raise DataError(
                f"{path}: column {name!r} is not numeric (row {r}: {cells[r]!r}) but holds "
                "numbers elsewhere; fix the entry, or declare the column discrete to read "
                "every value as a category")
        if "" in cells:
            raise DataError(f"{path}: text column {name!r} has an empty entry (row "
                            f"{cells.index('')}); fill or drop missing values first")
        out[:, j] = _codes(cells, path, name, is_declared)
        text.append(j)
    return out


def _numpy_reason(err: ValueError) -> str:
    text = str(err)
    if "allow_pickle" in text or "pickle" in text.lower():
        return "holds Python objects, which mmgap never unpickles; save a numeric array"
    return f"not a valid numpy file ({text})"


def _check_npy_header(fh, size: int, where: str) -> int:
    """Read a .npy header and check that the data it declares fit in the file, before numpy
    allocates anything from it (an untrusted header can declare terabytes). Returns the
    declared size of the data in bytes."""
    from numpy.lib import format as npformat

    try:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = npformat.read_array_header_1_0(fh)
        else:
            shape, _, dtype = npformat.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{where}: cannot read: not a valid .npy file ({err})") from None
    if dtype.hasobject:
        raise DataError(f"{where}: holds Python objects, which mmgap never unpickles; save a "
                        "numeric array")
    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
    available = size - fh.tell()
    if declared > available:
        raise DataError(f"{where}: the header declares shape {tuple(shape)} ({declared:,} bytes) "
                        f"but the file holds {max(available, 0):,} bytes after it: truncated or "
                        "corrupt")
    return declared


def load_xy(data: Optional[str] = None, *, x: Optional[str] = None, y: Optional[str] = None,
            x_cols: Optional[Sequence[str]] = None, y_cols: Optional[Sequence[str]] = None,
            x_key: str = "x", y_key: str = "y", text: Optional[dict] = None,
            declared: Optional[dict] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Read (x, y) from one file (``data``: .npz with arrays ``x_key``/``y_key``, or a table
    with ``x_cols``/``y_cols``) or from two files ``x`` and ``y``.

    ``text`` ({"x": [], "y": []}, lists to fill) and ``declared`` ({"x": spec, "y": spec})
    read text columns of tables as categories, as :func:`load_array` says."""
    text = text or {}
    declared = declared or {}
    tx = dict(text=text.get("x"), declared=declared.get("x"))
    ty = dict(text=text.get("y"), declared=declared.get("y"))
    if data is not None:
        if x is not None or y is not None:
            raise DataError("give either DATA or --x/--y, not both")
        p = Path(data)
        _check_file(p)
        if p.suffix.lower() == ".npz":
            if x_cols or y_cols:
                raise DataError(f"{p}: --x-cols/--y-cols apply to .csv and .parquet files; use --x-key/--y-key for .npz")
            return load_array(data, key=x_key, name="x"), load_array(data, key=y_key, name="y")
        if p.suffix.lower() == ".npy":
            raise DataError(f"{p}: a single .npy holds one array; use --x FILE --y FILE")
        if not x_cols or not y_cols:
            raise DataError(f"{p}: a table needs --x-cols and --y-cols to say which columns are X and Y")
        return (load_array(data, columns=x_cols, name="x", **tx),
                load_array(data, columns=y_cols, name="y", **ty))
    if x is None or y is None:
        raise DataError("no data: give DATA (a .npz with arrays x and y, or a table) or both --x FILE and --y FILE")
    return (load_array(x, columns=x_cols, name="x", key=x_key, **tx),
            load_array(y, columns=y_cols, name="y", key=y_key, **ty))
