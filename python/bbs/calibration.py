"""bbs.calibration: per-tensor fixed-point formats for PyTorch LSTMs, chosen from calibration inputs: the Python side
of bbs::nn::calibrate (include/bbs/nn/calibrate.hpp), with the same rules, so that a model exported
from PyTorch carries the formats bbs would pick (``export_model(..., lstm_formats=...)`` writes them
as the lstm statement's ``formats=`` key, docs/MODEL_FORMAT.md).

The rules (docs/VALUE_TYPES.md, "Per-tensor formats"):
- every tensor gets the finest fraction width f in 0..15 whose int16 range holds its largest
  magnitude times a margin (default 2), as ``format_for``;
- weights, whose values are known exactly, get the finest width that holds their largest entry,
  unless the product's int32 accumulator, Q(weight + input), could not then hold the product's
  range times the margin: the weight format gives way;
- sigmoid and tanh outputs get ``activation_bits`` (default 14, Q1.14, which holds 1.0 exactly);
- the cell state is 16-bit by default (the paper's and the RTL engine's datapath); with
  ``cell_bits=32`` it is an int32 with 16..30 fraction bits (CPU backends only);
- the formats chain: layer l > 0 reads its input in the output format of layer l - 1.

Ranges are measured in float32 by stepping each cell as bbs does (gate order i, f, g, o; one
bias b_ih + b_hh), so both sides see the same numbers:
    input               max |x|
    input_product       max |W_ih x|
    recurrent_product   max |W_hh h|
    gates               max |W_ih x + W_hh h + b|
    cell                max |c|
    hidden              max |o * tanh(c)|        (the projection's input)
    output              max |h|                  (after the projection, if any)

Usage:
    formats = calibrate(model, batches)      # {LSTM module name: [cell formats]}
    export_model(model, path, ..., lstm_formats=formats)
``test/data/nn/lstm_long_memory/formats.txt`` holds these formats for the long-memory fixture;
the C++ test (test/nn/test_lstm_formats.cpp) and this module's test both check against it.
"""
from __future__ import annotations

import math
from typing import Dict, Iterable, List, Mapping, Sequence

import torch

RAW_MIN, RAW_MAX = -32768, 32767
# The manifest keys of one cell's formats, in the order bbs writes them (nn/sequential.hpp).
FORMAT_KEYS = ("w_ih", "w_hh", "w_hr", "x", "gates", "act", "c", "m", "h")
RANGE_KEYS = ("input", "input_product", "recurrent_product", "gates", "cell", "hidden", "output")


def format_for(largest: float) -> int:
    """The finest fraction width f in 0..15 whose int16 range holds ``largest`` (largest * 2^f
    rounds to at most 32767); 0 when nothing does."""
    for f in range(15, 0, -1):
        scaled = largest * float(1 << f)
        if not (scaled >= RAW_MAX + 0.5 or scaled <= RAW_MIN - 0.5):
            return f
    return 0


def cell_format_for(largest: float, cell_bits: int = 16) -> int:
    """The cell state's fraction width: format_for for a 16-bit cell state; for a 32-bit one
    (cell_bits = 32) the finest width in 16..30 whose int32 range holds ``largest``, 16 when
    none does (widths above 15 mean an int32 cell state, docs/VALUE_TYPES.md)."""
    if cell_bits == 16:
        return format_for(largest)
    if cell_bits != 32:
        raise ValueError(f"cell_bits must be 16 or 32, got {cell_bits!r}")
    for f in range(30, 16, -1):
        scaled = largest * float(1 << f)
        if not (scaled >= 2147483647 + 0.5 or scaled <= -2147483648 - 0.5):
            return f
    return 16


def integer_bits(v: float) -> int:
    """The integer bits (sign excluded) a magnitude v needs: the least b >= 0 with v < 2^b."""
    b = 0
    while b < 62 and v >= math.ldexp(1.0, b):
        b += 1
    return b


def weight_format(largest_weight: float, x_bits: int, product: float) -> int:
    """A weight format no finer than the int32 accumulator allows: Q(w + x) sums of magnitude up
    to ``product`` need w + x + integer bits <= 31."""
    return max(0, min(format_for(largest_weight), 31 - x_bits - integer_bits(product)))


def _max_abs(t: torch.Tensor) -> float:
    return float(t.detach().abs().max()) if t.numel() else 0.0


def _cell_weights(lstm: torch.nn.LSTM, layer: int, direction: int):
    sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
    w_ih = getattr(lstm, "weight_ih" + sfx).detach().float()
    w_hh = getattr(lstm, "weight_hh" + sfx).detach().float()
    if lstm.bias:
        bias = (getattr(lstm, "bias_ih" + sfx) + getattr(lstm, "bias_hh" + sfx)).detach().float()
    else:
        bias = torch.zeros(w_ih.shape[0])
    w_hr = getattr(lstm, "weight_hr" + sfx).detach().float() if getattr(lstm, "proj_size", 0) else None
    return w_ih, w_hh, bias, w_hr


def _top(a: float, b: float) -> float:
    """max(a, b) that keeps a NaN (Python's max drops it when it comes second)."""
    return b if math.isnan(b) or b > a else a


def _merge(into: Dict[str, float], seen: Dict[str, float]) -> None:
    for k in RANGE_KEYS:
        into[k] = _top(into.get(k, 0.0), seen[k])


@torch.no_grad()
def observe_lstm(lstm: torch.nn.LSTM, x: torch.Tensor, ranges: List[Dict[str, float]]) -> None:
    """Merges into ``ranges`` (one dict per cell, layer-major then direction) the magnitudes the
    LSTM reaches on ``x`` ((T, B, input_size), or (B, T, input_size) when batch_first; zero
    initial state)."""
    if not isinstance(lstm, torch.nn.LSTM):
        raise TypeError(f"observe_lstm: needs a torch.nn.LSTM, got {type(lstm).__name__}")
    x = x.detach().float()
    if x.dim() != 3 or x.shape[2] != lstm.input_size:
        raise ValueError(f"observe_lstm: input of shape {tuple(x.shape)}; expected 3 dimensions with "
                         f"{lstm.input_size} features last")
    if lstm.batch_first:
        x = x.transpose(0, 1)
    directions = 2 if lstm.bidirectional else 1
    while len(ranges) < lstm.num_layers * directions:
        ranges.append({k: 0.0 for k in RANGE_KEYS})
    frames, batch = x.shape[0], x.shape[1]
    layer_input = x
    for layer in range(lstm.num_layers):
        outputs = []
        for d in range(directions):
            w_ih, w_hh, bias, w_hr = _cell_weights(lstm, layer, d)
            hidden = w_hh.shape[1]
            cells = w_hh.shape[0] // 4
            products = layer_input @ w_ih.t()  # (T, B, 4H)
            gates_x = products + bias
            seen = {k: 0.0 for k in RANGE_KEYS}
            seen["input"] = _max_abs(layer_input)
            seen["input_product"] = _max_abs(products)
            h = torch.zeros(batch, hidden)
            c = torch.zeros(batch, cells)
            out = torch.zeros(frames, batch, hidden)
            for step in range(frames):
                t = frames - 1 - step if d == 1 else step
                recurrent = h @ w_hh.t()
                g = gates_x[t] + recurrent
                seen["gates"] = _top(seen["gates"], _max_abs(g))
                seen["recurrent_product"] = _top(seen["recurrent_product"], _max_abs(recurrent))
                i_g, f_g, g_g, o_g = g.chunk(4, dim=1)
                c = torch.sigmoid(f_g) * c + torch.sigmoid(i_g) * torch.tanh(g_g)
                m = torch.sigmoid(o_g) * torch.tanh(c)
                seen["cell"] = _top(seen["cell"], _max_abs(c))
                seen["hidden"] = _top(seen["hidden"], _max_abs(m))
                h = m @ w_hr.t() if w_hr is not None else m
                out[t] = h
            seen["output"] = _max_abs(out)
            _merge(ranges[layer * directions + d], seen)
            outputs.append(out)
        layer_input = torch.cat(outputs, dim=2)


def lstm_formats(lstm: torch.nn.LSTM, ranges: Sequence[Mapping[str, float]], margin: float = 2.0,
                 activation_bits: int = 14, cell_bits: int = 16) -> List[Dict[str, int]]:
    """The formats of every cell (layer-major, then direction) from observed ranges, as
    bbs::nn::lstm_formats picks them: {w_ih, w_hh, w_hr, x, gates, act, c, m, h: fraction bits}.
    ValueError when a range is not finite."""
    directions = 2 if lstm.bidirectional else 1
    formats: List[Dict[str, int]] = []
    for layer in range(lstm.num_layers):
        layer_output = 0.0
        for d in range(directions):
            layer_output = _top(layer_output, ranges[layer * directions + d]["output"])
        for d in range(directions):
            r = ranges[layer * directions + d]
            if not all(math.isfinite(r[k]) for k in RANGE_KEYS):
                raise ValueError(f"calibration: LSTM layer {layer} direction {d} reached a non-finite value; "
                                 "check the inputs for NaN or infinity")
            w_ih, w_hh, bias, w_hr = _cell_weights(lstm, layer, d)
            f = {}
            f["x"] = format_for(margin * r["input"]) if layer == 0 else formats[(layer - 1) * directions]["h"]
            f["gates"] = format_for(margin * max(r["gates"], _max_abs(bias)))
            f["act"] = activation_bits
            f["c"] = cell_format_for(margin * r["cell"], cell_bits)
            f["h"] = format_for(margin * layer_output)
            f["m"] = format_for(margin * r["hidden"]) if w_hr is not None else f["h"]
            f["w_ih"] = weight_format(_max_abs(w_ih), f["x"], margin * r["input_product"])
            f["w_hh"] = weight_format(_max_abs(w_hh), f["h"], margin * r["recurrent_product"])
            f["w_hr"] = weight_format(_max_abs(w_hr), f["m"], margin * r["output"]) if w_hr is not None else 0
            formats.append({k: f[k] for k in FORMAT_KEYS})
    return formats


def calibrate_lstm(lstm: torch.nn.LSTM, sequences: Iterable[torch.Tensor], margin: float = 2.0,
                   activation_bits: int = 14, cell_bits: int = 16) -> List[Dict[str, int]]:
    """Formats of every cell of ``lstm`` from its runs over ``sequences`` (each as the LSTM takes
    it). ValueError when no sequence is given."""
    ranges: List[Dict[str, float]] = []
    for x in sequences:
        observe_lstm(lstm, x, ranges)
    if not ranges:
        raise ValueError("calibrate_lstm: no calibration sequences")
    return lstm_formats(lstm, ranges, margin, activation_bits, cell_bits)


def calibrate(model: torch.nn.Module, batches: Iterable[torch.Tensor], margin: float = 2.0,
              activation_bits: int = 14, cell_bits: int = 16) -> Dict[str, List[Dict[str, int]]]:
    """Runs ``model`` in float over ``batches`` and returns, for every nn.LSTM inside it (by its
    module name, as export_model names layers), the formats of its cells: what
    ``export_model(..., lstm_formats=...)`` takes. ValueError when no batch is given."""
    lstms = {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.LSTM)}
    ranges: Dict[str, List[Dict[str, float]]] = {name: [] for name in lstms}
    hooks = [m.register_forward_hook(lambda mod, args, out, name=name: observe_lstm(mod, args[0], ranges[name]))
             for name, m in lstms.items()]
    was_training = model.training
    model.eval()
    seen = 0
    try:
        with torch.no_grad():
            for x in batches:
                model(x)
                seen += 1
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if seen == 0:
        raise ValueError("calibrate: no calibration inputs")
    return {name: lstm_formats(lstms[name], ranges[name], margin, activation_bits, cell_bits) for name in lstms}


def format_spec(formats: Sequence[Mapping[str, int]]) -> str:
    """The manifest spelling of a layer's formats (``formats=``): cells separated by '/', each
    ``key:bits`` in FORMAT_KEYS order, as bbs::nn::save_model writes it."""
    cells = []
    for f in formats:
        unknown = set(f) - set(FORMAT_KEYS)
        if unknown:
            raise ValueError(f"format_spec: unknown keys {sorted(unknown)}; expected {', '.join(FORMAT_KEYS)}")
        for k in FORMAT_KEYS:
            top = 30 if k == "c" else 15
            if k in f and not (isinstance(f[k], int) and 0 <= f[k] <= top):
                raise ValueError(f"format_spec: {k}={f[k]!r} is not a fraction width in 0..{top}")
        cell = ",".join(f"{k}:{f[k]}" for k in FORMAT_KEYS if k in f)
        cells.append(cell or "-")
    return "/".join(cells)
