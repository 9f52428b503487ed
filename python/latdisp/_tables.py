"""Reading latdisp's tables into pandas, exactly.

latdisp writes doubles in the fewest digits that read back to the same double; pandas'
default CSV parser does not always give that double back (its fast float parser can be one
ulp off), so every CSV is read with ``float_precision="round_trip"``.
"""
import csv
from pathlib import Path

from . import _safetensors

POPULATIONS = ("all", "live", "dead")
ANALYZE_SERIES_KEYS = ("exact", "almost", "half", "non_integer", "nonfinite", "moved", "crossed", "mean", "max",
                       "frozen", "hop", "thermal", "sign_change", "from_zero", "to_zero")
_FLOAT_KEYS = ("mean", "max")
# per-token columns in table order, for ordering the columns of .h5 tables (docs/formats.md §9)
COLUMN_ORDERS = {
    "latdisp.analyze/1": ("token", "dead", "moved", "hops", "thermal", "frozen", "nonfinite_rows", "first_moved",
                          "last_moved", "crossings", "non_integer", "half", "max_magnitude", "final_frozen_run"),
    "latdisp.optimizer/1": ("token", "dead", "swallowed", "moved", "intended_l1", "lost_l1", "last_moved",
                            "last_half_cell", "replay_mismatches"),
    "latdisp.survey/1": ("token", "string", "group", "nearest_group", "distance", "norm", "zero", "beyond_tokenizer",
                         "unchanged"),
}


def pandas():
    try:
        import pandas
    except ImportError as error:
        raise ImportError("latdisp's DataFrames need pandas (Debian: apt install python3-pandas; "
                          "or pip install pandas)") from error
    return pandas


def read_csv_exact(path):
    """A latdisp CSV as a DataFrame, every double exactly as written. Text columns (a
    survey's token strings) keep every character (commas, quotes, CR, LF, NUL) and are never
    turned into NaN (an unquoted empty cell, no string at all, is None); empty numeric cells
    are NaN."""
    pd = pandas()
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), [])
    text_columns = [c for c in header if c == "string"]
    if not text_columns:
        return pd.read_csv(path, float_precision="round_trip")
    return _read_csv_with_text(path, text_columns)


def _numbers(values):
    """A CSV column's texts as int64, or float64 (empty: NaN) when any is not an integer."""
    pd = pandas()
    if all(v.lstrip("-").isdigit() for v in values):
        return pd.array([int(v) for v in values], dtype="int64")
    return pd.array([float(v) if v else float("nan") for v in values], dtype="float64")


def _rfc4180_fields(text):
    """Rows of (field, was_quoted) of an RFC 4180 text: a quoted field keeps every character
    (commas, doubled quotes, CR, LF, NUL); rows end at CRLF or LF."""
    rows, row, i, n = [], [], 0, len(text)
    while i < n:
        if text[i] == '"':
            parts, i = [], i + 1
            while True:
                j = text.find('"', i)
                if j < 0:
                    raise ValueError("a quoted CSV field is never closed")
                parts.append(text[i:j])
                if text.startswith('""', j):
                    parts.append('"')
                    i = j + 2
                else:
                    i = j + 1
                    break
            row.append(("".join(parts), True))
        else:
            j = i
            while j < n and text[j] not in ",\r\n":
                j += 1
            row.append((text[i:j], False))
            i = j
        if i < n and text[i] == ",":
            i += 1
            if i == n or text[i] in "\r\n":
                row.append(("", False))
            continue
        i += 2 if text.startswith("\r\n", i) else 1
        rows.append(row)
        row = []
    if row:
        rows.append(row)
    return rows


def _read_csv_with_text(path, text_columns):
    """Text columns: a quoted field is the string, an unquoted empty one is None (a survey's
    row without a token), so an empty string and no string stay apart; numbers go through
    int() and float(), which are exact."""
    pd = pandas()
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = _rfc4180_fields(f.read())
    header, body = [name for name, _ in rows[0]], rows[1:]
    columns = {}
    for position, name in enumerate(header):
        cells = [row[position] if position < len(row) else ("", False) for row in body]
        if name in text_columns:
            columns[name] = pd.Series([text if quoted or text else None for text, quoted in cells], dtype=object)
        else:
            columns[name] = _numbers([text for text, _ in cells])
    return pd.DataFrame(columns)


def _hdf5_columns(path):
    import h5py
    with h5py.File(path, "r") as f:
        return {name: f[name][()] for name in f if isinstance(f[name], h5py.Dataset) and f[name].ndim == 1}


def _safetensors_columns(path):
    header = _safetensors.read_header(path)
    return {name: _safetensors.read_tensor(path, name, header) for name in _safetensors.tensor_names(path, header)
            if len(header[0][name]["shape"]) == 1}


def read_table(path, schema=None):
    """A per-token table from .csv, .h5 or .safetensors as one DataFrame. Boolean columns
    of .h5/.safetensors tables come as 0/1 int64, as in the CSV, so the three formats give
    equal frames."""
    pd = pandas()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv_exact(path)
    if suffix in (".h5", ".hdf5"):
        columns = _hdf5_columns(path)
    elif suffix == ".safetensors":
        columns = _safetensors_columns(path)
    else:
        raise ValueError(f"{path}: a table is .csv, .h5 or .safetensors")
    order = [c for c in COLUMN_ORDERS.get(schema, ()) if c in columns]
    order += [c for c in columns if c not in order]
    frame = pd.DataFrame({c: columns[c] for c in order})
    for column in frame.columns:
        if frame[column].dtype == bool:
            frame[column] = frame[column].astype("int64")
    return frame


def _integral(v):
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e16)


def _column(values, floating=False):
    """A column built from JSON values with the dtype pandas gives the same column read from
    latdisp's CSV: int64 when every value is a whole number written without an exponent,
    else float64 (None: NaN). `floating` is kept for callers; the values decide."""
    pd = pandas()
    if values and all(v is not None and _integral(v) for v in values):
        return pd.array([int(v) for v in values], dtype="int64")
    if not values and not floating:
        return pd.array([], dtype="int64")
    return pd.array([float("nan") if v is None else float(v) for v in values], dtype="float64")


def _population(section, population):
    return section if population == "all" else section[population]


def analyze_series(data):
    """The analyze report's per-step series as the --series-csv table (docs/formats.md §10)."""
    pd = pandas()
    shape = data["input"]["shape"]
    transitions = shape[0] - 1
    steps = data["input"].get("steps") or list(range(shape[0]))
    columns = {"step": _column(list(range(transitions)), False), "from_step": _column(steps[:-1], False),
               "to_step": _column(steps[1:], False)}
    for population in POPULATIONS:
        per_step = dict(_population(data["displacement"], population)["per_step"])
        per_step["crossed"] = _population(data["crossings"], population)["per_step"]
        per_step.update(_population(data["magnitude"], population)["per_step"])
        per_step.update(_population(data["motion"], population)["per_step"])
        if "near_zero" in data:  # (reports written before the near-zero breakdown have none)
            per_step.update(_population(data["near_zero"], population)["per_step"])
        for key in ANALYZE_SERIES_KEYS:
            if key in per_step:
                columns[f"{population}.{key}"] = _column(per_step[key], key in _FLOAT_KEYS)
    return pd.DataFrame(columns)


def blackholes_series(data):
    """The blackholes report's per-step series as its --series-csv table (docs/formats.md §11)."""
    pd = pandas()
    selected = data["steps"]
    steps = data["input"].get("steps")
    columns = {"step": _column(selected, False),
               "training_step": _column([steps[t] for t in selected] if steps else [None] * len(selected), False)}
    for key in ("groups", "members", "largest", "dead_members"):
        columns[key] = _column(data["per_step"][key], False)
    return pd.DataFrame(columns)


def _lists_of(block, prefix, columns):
    for key, value in block.items():
        if isinstance(value, list):
            columns[prefix + key] = _column(value, False)


def optimizer_series(data):
    """The optimizer audit's per-step series as its --series-csv table: `step` t = 1 .. S-1,
    `from_step`, `to_step` (training steps, empty when unknown), then per population the
    lists of classes, sums, states (exp_avg., exp_avg_sq.), weight_decay., replay.TENSOR.
    and freeze. blocks, in the report's key order."""
    pd = pandas()
    steps_count = data["input"]["shape"][0]
    steps = data["input"].get("steps")
    columns = {"step": _column(list(range(1, steps_count)), False),
               "from_step": _column(steps[:-1] if steps else [None] * (steps_count - 1), False),
               "to_step": _column(steps[1:] if steps else [None] * (steps_count - 1), False)}
    for population in POPULATIONS:
        def block(name):
            return _population(data[name], population)
        p = population + "."
        _lists_of(block("classes")["per_step"], p, columns)
        _lists_of(block("sums")["per_step"], p, columns)
        for state in ("exp_avg", "exp_avg_sq"):
            _lists_of(block("states")[state]["per_step"], f"{p}{state}.", columns)
        _lists_of(block("weight_decay").get("per_step", {}), p + "weight_decay.", columns)
        for tensor in ("W", "exp_avg", "exp_avg_sq"):
            _lists_of(block("replay")[tensor], f"{p}replay.{tensor}.", columns)
        _lists_of(block("freeze_prediction")["per_step"], p + "freeze.", columns)
    return pd.DataFrame(columns)


def _walk_per_step(node, path, length, found):
    """Collects every list of `length` numbers under a `per_step` key (or `per_step_NAME`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            _walk_per_step(value, path + [key], length, found)
    elif isinstance(node, list) and len(node) == length and any(p.startswith("per_step") for p in path) \
            and all(v is None or isinstance(v, (int, float)) for v in node):
        population = next((p for p in path if p in ("live", "dead")), "all")
        name = []
        for p in path:
            if p in ("live", "dead", "per_step"):
                continue
            name.append(p[len("per_step_"):] if p.startswith("per_step_") else p)
        found[f"{population}.{'.'.join(name)}"] = node


def generic_series(data, first_step=1):
    """Per-step series of any report, found by walking the JSON: every list of S-1 numbers
    under a ``per_step`` key, as the column POPULATION.SECTION.KEY (``all.classes.swallowed``,
    ``live.replay.W.mismatch``); rows are steps t = first_step .. first_step + S-2."""
    pd = pandas()
    shape = data["input"]["shape"]
    length = shape[0] - 1
    found = {}
    for section, value in data.items():
        if section not in ("input", "run"):
            _walk_per_step(value, [section], length, found)
    steps = data["input"].get("steps") or list(range(shape[0]))
    t = list(range(first_step, first_step + length))
    columns = {"step": _column(t, False), "from_step": _column([steps[i - 1] for i in t], False),
               "to_step": _column([steps[i] for i in t], False)}
    populations = {p: sorted(k for k in found if k.startswith(p + ".")) for p in POPULATIONS}
    for population in POPULATIONS:
        for key in populations[population]:
            columns[key] = _column(found[key], False)
    return pd.DataFrame(columns)
