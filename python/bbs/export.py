"""bbs.export: exports PyTorch models as bbs model files (docs/MODEL_FORMAT.md) and reads them back.

Needs torch (Debian's python3-torch, under ``/usr/bin/python3``), not the compiled extension:
tools/ scripts import it from the source tree as ``bbs_model`` (tools/python/bbs_model.py).

Three layers of API:

- **CSB files** (docs/FILE_FORMAT.md), in numpy: ``csb_serialize(weight, bank_size, nnz_per_bank,
  mask=None, value_type="float32")`` returns exactly the bytes ``bbs::save`` writes for the
  bank-balanced matrix (64-byte header, canonical slot-major values and in-bank indices, each
  section zero-padded to 8 bytes, CRC-32); ``csb_deserialize(data)`` checks and decodes them.
  Value types: float32, float64 and fixed16<F> (int16 raw values, ``value = raw / 2^F``, rounded
  to nearest with ties away from zero and saturated, as ``bbs::quantize``).
- **Model files**: ``export_model(model, path, ...)`` writes the ZIP (stored entries) with the
  ``model.txt`` manifest, ``<tensor>.bbs`` for matrix weights and float32 ``<tensor>.npy`` for
  every other tensor. ``read_model(path)`` returns the manifest's statements and every tensor as
  a dense numpy array (for tests and tools).
- **Helper modules** for sequence models that are plain ``torch.nn.Sequential`` models:
  ``LastStep`` (the last frame of an LSTM / GRU output; classifiers), ``AllSteps`` (every frame:
  frame-wise outputs such as a CTC acoustic model's) and ``sequence_classifier(...)``.

Supported layers (a ``torch.nn.Sequential``, nested Sequentials flattened; names are the
state_dict's): Conv2d (groups = 1, or depthwise: groups = in = out channels; square kernel,
stride and padding, no dilation, zero padding), BatchNorm2d (directly after a convolution),
ReLU, ReLU6, MaxPool2d, AvgPool2d (no padding, floor mode), AdaptiveAvgPool2d(1) (as
global_avg_pool2d), Flatten (start_dim 1), Linear, LSTM (projections allowed), GRU, LastStep;
Dropout, Identity and AllSteps are skipped (identity in eval mode; bbs's recurrent layers pass
every frame on, and a Linear after them applies to each frame). Anything else raises
``UnsupportedModuleError`` naming the module.

How weights are stored. Every matrix weight (ungrouped convolution as out x (in k k), Linear,
LSTM / GRU weight_ih / weight_hh / weight_hr) is written as a ``.bbs`` file:

- a weight named in ``bank_configs`` (``{"features.6.weight": (16, 2), ...}`` or
  ``{"features.6.weight": BankConfig(16, 2)}``) must be bank-balanced with that configuration:
  every bank has at most nnz_per_bank nonzeros (``ValueError`` otherwise). It is stored with
  bank = B and nnz = K, and the kept entries are those ``bbs::prune`` keeps (the nonzeros, and
  the lowest-column zeros where a bank has fewer nonzeros than K);
- any other weight (dense, or pruned unstructured or by blocks) is stored as a *dense* BBS matrix
  that holds its zeros: bank = number of columns, nnz = number of columns (one bank per row,
  every entry stored). C++ then computes exactly PyTorch's function; the zeros cost their storage
  and multiply-adds.

A layer statement gets ``bank=`` / ``nnz=`` keys when all its matrix weights share one
configuration; otherwise (an LSTM whose input and hidden sizes differ, stored dense) the keys are
left out, which the format allows for weights stored as ``.bbs``. With ``weights="npy"`` matrix
weights are written dense as float32 ``.npy`` with the keys, and the C++ loader prunes them at
load; then every matrix weight must be in ``bank_configs`` or be given ``default_bank`` and one
statement's weights must share a configuration.

Everything else (biases, depthwise filters, BatchNorm weight / bias / running statistics) is
float32 ``.npy``; BatchNorm's ``num_batches_tracked`` is not written. BatchNorm is not folded
here: the manifest keeps ``batch_norm2d`` and the loader folds it (in double, before pruning; a
per-row scale keeps the bank-balanced pattern).

Files are written atomically (a temporary file in the destination's directory, then
``os.replace``) and deterministically (fixed ZIP timestamps, entries in layer order).
"""
from __future__ import annotations

import io
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from bbs.calibration import format_spec
from bbs.pruning import bank_balanced_mask

__all__ = [
    "CSB_MAGIC",
    "UnsupportedModuleError",
    "value_type_code",
    "csb_serialize",
    "csb_deserialize",
    "save_csb",
    "LastStep",
    "AllSteps",
    "sequence_classifier",
    "export_model",
    "read_model",
    "parse_manifest",
]

CSB_MAGIC = b"\x89BBS\r\n\x1a\n"
MAX_BANK_SIZE = 65536
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class UnsupportedModuleError(ValueError):
    """A module export_model cannot express in the bbs model format."""


# ---------------------------------------------------------------------------------------------
# Value types.

_FIXED16 = re.compile(r"fixed16\s*[<:]\s*(\d+)\s*>?$")


def value_type_code(value_type: str) -> Tuple[int, int]:
    """(file type code, bytes per value) of 'float32', 'float64' or 'fixed16<F>' (F = 0..15)."""
    if value_type == "float32":
        return 1, 4
    if value_type == "float64":
        return 2, 8
    m = _FIXED16.match(value_type)
    if m and 0 <= int(m.group(1)) <= 15:
        return 16 + int(m.group(1)), 2
    raise ValueError(f"unsupported value type {value_type!r}; expected float32, float64 or fixed16<F>, F = 0..15")


def _type_name(code: int) -> str:
    if code == 1:
        return "float32"
    if code == 2:
        return "float64"
    if 16 <= code <= 31:
        return f"fixed16<{code - 16}>"
    raise ValueError(f"unsupported value type code {code}")


def quantize_fixed16(values: np.ndarray, frac_bits: int) -> np.ndarray:
    """bbs::quantize to fixed16<F>: round(v * 2^F), ties away from zero, saturated to int16.
    NaN raises ValueError."""
    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).any():
        raise ValueError("quantize_fixed16: NaN value")
    scaled = v * float(2 ** frac_bits)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return np.clip(rounded, -32768, 32767).astype("<i2")


def _encode_values(values: np.ndarray, code: int) -> bytes:
    if code == 1:
        return np.asarray(values, dtype="<f4").tobytes()
    if code == 2:
        return np.asarray(values, dtype="<f8").tobytes()
    return quantize_fixed16(values, code - 16).tobytes()


def _decode_values(raw: bytes, code: int, n: int) -> np.ndarray:
    if code == 1:
        return np.frombuffer(raw, dtype="<f4", count=n).astype(np.float32)
    if code == 2:
        return np.frombuffer(raw, dtype="<f8", count=n).astype(np.float64)
    return (np.frombuffer(raw, dtype="<i2", count=n).astype(np.float64) / float(2 ** (code - 16))).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# CSB files.


def _round8(n: int) -> int:
    return (n + 7) // 8 * 8


def _bank_balanced_mask_np(w: np.ndarray, bank_size: int, k: int) -> np.ndarray:
    """bbs::prune's kept entries (bbs_pruning.bank_balanced_mask, the shared implementation)."""
    return bank_balanced_mask(torch.from_numpy(np.ascontiguousarray(w)), bank_size, k).numpy()


def csb_serialize(
    weight: np.ndarray,
    bank_size: int,
    nnz_per_bank: int,
    mask: Optional[np.ndarray] = None,
    value_type: str = "float32",
) -> bytes:
    """The bytes bbs::save writes for a rows x cols matrix stored with BankConfig(bank_size,
    nnz_per_bank).

    ``mask`` (bool, True = stored) picks the stored entries: every bank must hold exactly
    min(nnz_per_bank, width) of them (width = the bank's real columns, smaller for a partial last
    bank). Without a mask, the entries bbs::prune keeps (nnz_per_bank largest magnitudes per bank,
    ties to the lower column) are stored; values outside the mask are dropped. A partial last
    bank narrower than nnz_per_bank is padded with zero entries at in-bank indices width,
    width + 1, ... as the canonical layout requires."""
    w = np.asarray(weight)
    if w.ndim != 2:
        raise ValueError(f"csb_serialize: needs a matrix, got shape {w.shape}")
    bank_size, k = int(bank_size), int(nnz_per_bank)
    if not 1 <= bank_size <= MAX_BANK_SIZE:
        raise ValueError(f"csb_serialize: bank_size must be in [1, {MAX_BANK_SIZE}], got {bank_size}")
    if not 0 <= k <= bank_size:
        raise ValueError(f"csb_serialize: nnz_per_bank must be in [0, {bank_size}], got {k}")
    code, size = value_type_code(value_type)
    rows, cols = w.shape
    if not np.isfinite(w.astype(np.float64)).all():
        raise ValueError("csb_serialize: the matrix holds NaN or infinite values")
    if mask is None:
        mask = _bank_balanced_mask_np(w.astype(np.float32) if w.dtype != np.float64 else w, bank_size, k)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != w.shape:
        raise ValueError(f"csb_serialize: mask shape {mask.shape} differs from the matrix's {w.shape}")
    nb = -(-cols // bank_size) if cols > 0 else 0
    n = rows * nb * k
    if n > 0:
        padded_cols = nb * bank_size
        wp = np.zeros((rows, padded_cols), dtype=np.float64)
        wp[:, :cols] = w
        mp = np.zeros((rows, padded_cols), dtype=bool)
        mp[:, :cols] = mask
        width = cols - (nb - 1) * bank_size
        if k > width:  # the partial last bank stores padding entries at indices width .. k-1
            mp[:, (nb - 1) * bank_size + width:(nb - 1) * bank_size + k] = True
        m3 = mp.reshape(rows, nb, bank_size)
        counts = m3.sum(axis=2)
        expected = np.full(nb, k)
        if counts.shape[1] and (counts != expected).any():
            r, b = np.argwhere(counts != expected)[0]
            real = min(k, bank_size if b < nb - 1 else width)
            raise ValueError(
                f"csb_serialize: row {r} bank {b} has {int(counts[r, b]) - (k - real)} stored entries; "
                f"bank-balanced storage with nnz_per_bank {k} needs {real}")
        # Positions of the stored entries in increasing column order: a stable sort of "not kept".
        idx = np.argsort(~m3, axis=2, kind="stable")[:, :, :k]  # rows x nb x k
        vals = np.take_along_axis(wp.reshape(rows, nb, bank_size), idx, axis=2)
        values = vals.transpose(0, 2, 1).reshape(-1)  # slot-major: slot s of every bank, then s + 1
        indices = idx.transpose(0, 2, 1).reshape(-1)
    else:
        values = np.zeros(0)
        indices = np.zeros(0, dtype=np.int64)
    iw = 1 if bank_size <= 256 else 2
    value_bytes = _encode_values(values, code)
    index_bytes = indices.astype("<u1" if iw == 1 else "<u2").tobytes()
    V, I = _round8(n * size), _round8(n * iw)
    header = struct.pack("<8sIIIIqqIIQ8x", CSB_MAGIC, 1, code, iw, 0, rows, cols, bank_size, k, V + I)
    body = header + value_bytes + bytes(V - len(value_bytes)) + index_bytes + bytes(I - len(index_bytes))
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def csb_deserialize(data: bytes) -> dict:
    """Checks a CSB file's bytes (header fields, size, CRC-32, padding, in-bank indices) and
    returns {'rows', 'cols', 'bank_size', 'nnz_per_bank', 'value_type', 'values', 'indices',
    'dense' (rows x cols: float32, float64 for float64 files), 'mask' (stored real entries)}.
    Raises ValueError on any violation."""
    data = bytes(data)
    if len(data) < 64:
        raise ValueError("csb: shorter than the 64-byte header")
    magic, version, code, iw, flags, rows, cols, bank, k, payload = struct.unpack("<8sIIIIqqIIQ", data[:56])
    if magic != CSB_MAGIC:
        raise ValueError("csb: bad magic")
    if version != 1 or flags != 0 or data[56:64] != bytes(8):
        raise ValueError("csb: bad version, flags or reserved bytes")
    if not 1 <= bank <= MAX_BANK_SIZE or k > bank or iw != (1 if bank <= 256 else 2) or rows < 0 or cols < 0:
        raise ValueError("csb: bad bank configuration, index width or shape")
    type_name = _type_name(code)
    _, size = value_type_code(type_name)
    nb = -(-cols // bank) if cols > 0 else 0
    n = rows * nb * k
    V, I = _round8(n * size), _round8(n * iw)
    if payload != V + I or len(data) != 68 + V + I:
        raise ValueError(f"csb: size mismatch (file {len(data)} bytes, expected {68 + V + I})")
    if zlib.crc32(data[:-4]) & 0xFFFFFFFF != struct.unpack("<I", data[-4:])[0]:
        raise ValueError("csb: checksum mismatch")
    if any(data[64 + n * size:64 + V]) or any(data[64 + V + n * iw:64 + V + I]):
        raise ValueError("csb: nonzero padding bytes")
    values = _decode_values(data[64:64 + n * size], code, n)
    indices = np.frombuffer(data[64 + V:64 + V + n * iw], dtype="<u1" if iw == 1 else "<u2").astype(np.int64)
    dtype = np.float64 if code == 2 else np.float32
    dense = np.zeros((rows, cols), dtype=dtype)
    mask = np.zeros((rows, cols), dtype=bool)
    if n > 0:
        v3 = values.reshape(rows, k, nb).transpose(0, 2, 1)  # rows x nb x k
        i3 = indices.reshape(rows, k, nb).transpose(0, 2, 1)
        if (i3 >= bank).any() or (k > 1 and (np.diff(i3, axis=2) <= 0).any()):
            raise ValueError("csb: in-bank indices out of range or not strictly increasing")
        col = i3 + (np.arange(nb) * bank)[None, :, None]
        real = col < cols
        if (v3[~real] != 0).any():
            raise ValueError("csb: a padding entry holds a nonzero value")
        r = np.broadcast_to(np.arange(rows)[:, None, None], col.shape)
        dense[r[real], col[real]] = v3[real]
        mask[r[real], col[real]] = True
    return {"rows": rows, "cols": cols, "bank_size": bank, "nnz_per_bank": k, "value_type": type_name,
            "values": values, "indices": indices, "dense": dense, "mask": mask}


def _atomic_write(path: str, write) -> None:
    """Calls write(file object) on a temporary file beside path, then renames it onto path."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp.", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_csb(path: str, weight: np.ndarray, bank_size: int, nnz_per_bank: int, mask=None,
             value_type: str = "float32") -> None:
    """Writes csb_serialize(...) to path atomically."""
    data = csb_serialize(weight, bank_size, nnz_per_bank, mask, value_type)
    _atomic_write(path, lambda f: f.write(data))


# ---------------------------------------------------------------------------------------------
# Helper modules.


class LastStep(torch.nn.Module):
    """The output of an LSTM / GRU (the (output, state) tuple it returns, or the output alone) at
    the last time step: output[:, -1] for batch_first, output[-1] otherwise. bbs's ``last_step``."""

    def __init__(self, batch_first: bool = True) -> None:
        super().__init__()
        self.batch_first = batch_first

    def forward(self, x):
        out = x[0] if isinstance(x, tuple) else x
        return out[:, -1] if self.batch_first else out[-1]


class AllSteps(torch.nn.Module):
    """The output of an LSTM / GRU at every time step (the output of the (output, state) tuple it
    returns): what bbs's recurrent layers pass on, so it exports to nothing."""

    def forward(self, x):
        return x[0] if isinstance(x, tuple) else x


def sequence_classifier(input_size: int, hidden_size: int, classes: int, *, num_layers: int = 1,
                        bidirectional: bool = False, cell: str = "lstm"):
    """A Sequential (rnn, last, fc): batch-first LSTM / GRU -> LastStep -> Linear; input
    (N, T, input_size), output (N, classes); state_dict names rnn.* and fc.*."""
    rnn_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn = rnn_cls(input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional, batch_first=True)
    out = hidden_size * (2 if bidirectional else 1)
    return torch.nn.Sequential(OrderedDict(rnn=rnn, last=LastStep(batch_first=True),
                                           fc=torch.nn.Linear(out, classes)))


# ---------------------------------------------------------------------------------------------
# Exporter.


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def _single(who: str, value, what: str) -> int:
    """An int from an int or a tuple of equal ints (square kernels, strides, paddings)."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise UnsupportedModuleError(f"{who}: {what} must be square, got {tuple(value)}")
        value = value[0]
    if not isinstance(value, int):
        raise UnsupportedModuleError(f"{who}: {what} {value!r} is not supported")
    return int(value)


def _flatten_sequential(module, prefix: str = "") -> List[Tuple[str, object]]:
    layers = []
    for name, child in module.named_children():
        full = prefix + name
        if isinstance(child, torch.nn.Sequential):
            layers.extend(_flatten_sequential(child, full + "."))
        else:
            layers.append((full, child))
    return layers


def _as_config(cfg) -> Tuple[int, int]:
    b, k = (int(cfg[0]), int(cfg[1]))
    if not 1 <= b <= MAX_BANK_SIZE or not 0 <= k <= b:
        raise ValueError(f"export_model: bad bank configuration {tuple(cfg)}")
    return b, k


def _fmt_float(x: float) -> str:
    return repr(float(x))  # shortest round-trip form: 1e-05, 0.001


class _Writer:
    """Collects manifest lines and archive entries for export_model."""

    def __init__(self, bank_configs, weights, value_type, default_bank):
        self.lines: List[str] = []
        self.entries: "OrderedDict[str, bytes]" = OrderedDict()
        self.bank_configs = {k: _as_config(v) for k, v in (bank_configs or {}).items()}
        self.used_configs = set()
        self.weights = weights
        self.value_type = value_type
        self.default_bank = _as_config(default_bank) if default_bank is not None else None

    def add(self, name: str, data: bytes) -> None:
        if name in self.entries:
            raise ValueError(f"export_model: tensor entry {name} written twice")
        self.entries[name] = data

    def dense(self, tensor_name: str, tensor) -> None:
        a = tensor.detach().cpu().float().numpy() if hasattr(tensor, "detach") else np.asarray(tensor, np.float32)
        self.add(tensor_name + ".npy", _npy_bytes(a.astype(np.float32)))

    def matrix(self, tensor_name: str, tensor) -> Tuple[int, int]:
        """Writes a matrix weight (.bbs, or .npy in weights='npy' mode); returns its (bank, nnz)."""
        w = tensor.detach().cpu().float().numpy()
        w2 = w.reshape(w.shape[0], -1)
        cfg = self.bank_configs.get(tensor_name)
        if cfg is not None:
            self.used_configs.add(tensor_name)
        if self.weights == "npy":
            if cfg is None:
                cfg = self.default_bank
            if cfg is None:
                raise ValueError(f"export_model: weights='npy' needs a bank configuration for {tensor_name} "
                                 "(bank_configs or default_bank)")
            self.add(tensor_name + ".npy", _npy_bytes(w.astype(np.float32)))
            return cfg
        if cfg is None:
            cols = w2.shape[1]
            if cols > MAX_BANK_SIZE:
                raise ValueError(f"export_model: {tensor_name} has {cols} columns; a dense BBS matrix holds "
                                 f"at most {MAX_BANK_SIZE}")
            cfg = (max(cols, 1), cols)
            mask = np.ones(w2.shape, dtype=bool)
        else:
            mask = _bank_balanced_mask_np(w2, *cfg)
            outside = (w2 != 0) & ~mask
            if outside.any():
                r, c = np.argwhere(outside)[0]
                raise ValueError(f"export_model: {tensor_name} is not bank-balanced with bank {cfg[0]} nnz {cfg[1]}: "
                                 f"row {r} bank {c // cfg[0]} holds more than {cfg[1]} nonzeros")
        self.add(tensor_name + ".bbs", csb_serialize(w2, cfg[0], cfg[1], mask, self.value_type))
        return cfg

    @staticmethod
    def bank_keys(configs: Sequence[Tuple[int, int]], weights_mode: str, who: str) -> str:
        if len(set(configs)) == 1:
            b, k = configs[0]
            return f" bank={b} nnz={k}"
        if weights_mode == "npy":
            raise ValueError(f"export_model: {who}: its weights have different bank configurations {sorted(set(configs))}; "
                             "one statement takes one (bank, nnz) for dense .npy weights")
        return ""


def export_model(
    model,
    path: str,
    *,
    input_shape: Optional[Sequence[int]] = None,
    bank_configs: Optional[Mapping[str, Tuple[int, int]]] = None,
    weights: str = "bbs",
    value_type: str = "float32",
    default_bank: Optional[Tuple[int, int]] = None,
    comment: Optional[str] = None,
    lstm_formats: Optional[Mapping[str, Sequence[Mapping[str, int]]]] = None,
) -> str:
    """Writes ``model`` (a torch.nn.Sequential; see the module docstring) to ``path`` as a bbs
    model file and returns the manifest text.

    input_shape: (C, H, W) for a model that starts with an image layer (required); for one that
    starts with an LSTM / GRU the input is ``sequence features=input_size`` and for a Linear
    ``features features=in_features`` (input_shape may then be omitted, or (F,)).
    bank_configs: {weight name: (bank_size, nnz_per_bank)} for the weights pruned bank-balanced.
    weights: 'bbs' (matrix weights as .bbs) or 'npy' (dense .npy, pruned by the loader).
    value_type: of the .bbs files: 'float32' (default), 'float64' or 'fixed16<F>'.
    comment: '#' lines written after the first line (newlines split it).
    lstm_formats: {LSTM module name: per-cell fixed-point formats}, as bbs_calibrate.calibrate
    returns them; written as the lstm statement's formats= key, which a fixed16 load uses.
    Raises UnsupportedModuleError for a module or option the format cannot express, ValueError
    for a weight that is not bank-balanced with its configuration, or a configuration name that
    matches no weight."""
    if weights not in ("bbs", "npy"):
        raise ValueError(f"export_model: weights must be 'bbs' or 'npy', got {weights!r}")
    value_type_code(value_type)
    if not isinstance(model, torch.nn.Sequential):
        raise UnsupportedModuleError(f"export_model: needs a torch.nn.Sequential, got {type(model).__name__}")
    layers = [(n, m) for n, m in _flatten_sequential(model)
              if not isinstance(m, (torch.nn.Dropout, torch.nn.Identity, AllSteps))]
    if not layers:
        raise UnsupportedModuleError("export_model: the model has no layers")
    wr = _Writer(bank_configs, weights, value_type, default_bank)
    lines = ["bbs-model 1"]
    if comment:
        lines.extend("# " + c for c in str(comment).splitlines())

    first = layers[0][1]
    if isinstance(first, torch.nn.Conv2d):
        if input_shape is None or len(input_shape) != 3:
            raise ValueError("export_model: an image model needs input_shape = (C, H, W)")
        c, h, w = (int(v) for v in input_shape)
        lines.append(f"input image channels={c} height={h} width={w}")
    elif isinstance(first, (torch.nn.LSTM, torch.nn.GRU)):
        lines.append(f"input sequence features={first.input_size}")
    elif isinstance(first, torch.nn.Linear):
        lines.append(f"input features features={first.in_features}")
    else:
        raise UnsupportedModuleError(f"export_model: the first layer ({layers[0][0]}, {type(first).__name__}) "
                                     "must be a Conv2d, LSTM, GRU or Linear")

    formats = dict(lstm_formats or {})
    used_formats = set()
    previous = None
    for name, m in layers:
        who = f"{name} ({type(m).__name__})"
        if isinstance(m, torch.nn.Conv2d):
            k = _single(who, m.kernel_size, "kernel")
            stride = _single(who, m.stride, "stride")
            if isinstance(m.padding, str):
                raise UnsupportedModuleError(f"{who}: padding={m.padding!r} is not supported; give numbers")
            pad = _single(who, m.padding, "padding")
            if _single(who, m.dilation, "dilation") != 1:
                raise UnsupportedModuleError(f"{who}: dilation is not supported")
            if m.padding_mode != "zeros":
                raise UnsupportedModuleError(f"{who}: padding_mode {m.padding_mode!r} is not supported (zeros only)")
            if m.groups == 1:
                cfg = wr.matrix(name + ".weight", m.weight)
                line = f"conv2d name={name} in={m.in_channels} out={m.out_channels} kernel={k}"
                line += f" stride={stride} padding={pad}" + wr.bank_keys([cfg], weights, who)
            elif m.groups == m.in_channels == m.out_channels:
                wr.dense(name + ".weight", m.weight)
                line = f"depthwise_conv2d name={name} channels={m.in_channels} kernel={k} stride={stride} padding={pad}"
            else:
                raise UnsupportedModuleError(f"{who}: groups={m.groups} is not supported (1, or depthwise with "
                                             "groups = in_channels = out_channels)")
            if m.bias is not None:
                wr.dense(name + ".bias", m.bias)
        elif isinstance(m, torch.nn.BatchNorm2d):
            if not isinstance(previous, torch.nn.Conv2d):
                raise UnsupportedModuleError(f"{who}: batch_norm2d must follow a Conv2d directly")
            if m.running_mean is None or m.running_var is None:
                raise UnsupportedModuleError(f"{who}: needs running statistics (track_running_stats=True)")
            n = m.num_features
            wr.dense(name + ".weight", m.weight if m.weight is not None else torch.ones(n))
            wr.dense(name + ".bias", m.bias if m.bias is not None else torch.zeros(n))
            wr.dense(name + ".running_mean", m.running_mean)
            wr.dense(name + ".running_var", m.running_var)
            line = f"batch_norm2d name={name} eps={_fmt_float(m.eps)}"
        elif isinstance(m, torch.nn.ReLU6):
            line = "relu6"
        elif isinstance(m, torch.nn.ReLU):
            line = "relu"
        elif isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
            k = _single(who, m.kernel_size, "kernel")
            stride = _single(who, m.stride if m.stride is not None else m.kernel_size, "stride")
            if _single(who, m.padding, "padding") != 0 or m.ceil_mode:
                raise UnsupportedModuleError(f"{who}: padding and ceil_mode are not supported")
            if isinstance(m, torch.nn.MaxPool2d):
                if _single(who, m.dilation, "dilation") != 1 or m.return_indices:
                    raise UnsupportedModuleError(f"{who}: dilation and return_indices are not supported")
                line = f"max_pool2d kernel={k} stride={stride}"
            else:
                if m.divisor_override is not None:
                    raise UnsupportedModuleError(f"{who}: divisor_override is not supported")
                line = f"avg_pool2d kernel={k} stride={stride}"
        elif isinstance(m, torch.nn.AdaptiveAvgPool2d):
            size = m.output_size
            if size not in (1, (1, 1), [1, 1]):
                raise UnsupportedModuleError(f"{who}: only output_size 1 (global average pooling) is supported")
            line = "global_avg_pool2d"
        elif isinstance(m, torch.nn.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                raise UnsupportedModuleError(f"{who}: only Flatten(start_dim=1, end_dim=-1) is supported")
            line = "flatten"
        elif isinstance(m, torch.nn.Linear):
            cfg = wr.matrix(name + ".weight", m.weight)
            line = f"linear name={name} in={m.in_features} out={m.out_features}" + wr.bank_keys([cfg], weights, who)
            if m.bias is not None:
                wr.dense(name + ".bias", m.bias)
        elif isinstance(m, (torch.nn.LSTM, torch.nn.GRU)):
            is_lstm = isinstance(m, torch.nn.LSTM)
            proj = int(getattr(m, "proj_size", 0) or 0)
            configs = []
            suffixes = ["", "_reverse"] if m.bidirectional else [""]
            for layer in range(m.num_layers):
                for sfx in suffixes:
                    for kind in ("ih", "hh") + (("hr",) if proj > 0 else ()):
                        t = f"weight_{kind}_l{layer}{sfx}"
                        configs.append(wr.matrix(f"{name}.{t}", getattr(m, t)))
                    if m.bias:
                        for kind in ("ih", "hh"):
                            t = f"bias_{kind}_l{layer}{sfx}"
                            wr.dense(f"{name}.{t}", getattr(m, t))
            keyword = "lstm" if is_lstm else "gru"
            line = (f"{keyword} name={name} input={m.input_size} hidden={m.hidden_size} layers={m.num_layers} "
                    f"bidirectional={int(m.bidirectional)}")
            if is_lstm:
                line += f" proj={proj}"
            line += wr.bank_keys(configs, weights, who)
            if is_lstm and name in formats:
                cells = formats[name]
                if len(cells) != m.num_layers * len(suffixes):
                    raise ValueError(f"export_model: lstm_formats[{name!r}] has {len(cells)} cells; the LSTM has "
                                     f"{m.num_layers * len(suffixes)} (layers x directions)")
                line += " formats=" + format_spec(cells)
                used_formats.add(name)
        elif isinstance(m, LastStep):
            line = "last_step"
        else:
            raise UnsupportedModuleError(f"export_model: {who} is not supported; supported: Conv2d, BatchNorm2d, ReLU, "
                                         "ReLU6, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, Linear, LSTM, "
                                         "GRU, LastStep, Dropout, Identity")
        lines.append(line)
        previous = m

    if set(formats) - used_formats:
        raise ValueError(f"export_model: lstm_formats names no LSTM of the model: "
                         f"{', '.join(sorted(set(formats) - used_formats))}")
    unused = set(wr.bank_configs) - wr.used_configs
    if unused:
        raise ValueError(f"export_model: bank_configs names weights the model does not store as matrices: "
                         f"{', '.join(sorted(unused))}")
    manifest = "\n".join(lines) + "\n"

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
            for entry, data in [("model.txt", manifest.encode("utf-8"))] + list(wr.entries.items()):
                info = zipfile.ZipInfo(entry, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                z.writestr(info, data)

    _atomic_write(path, write)
    return manifest


# ---------------------------------------------------------------------------------------------
# Reader.


def parse_manifest(text: str) -> List[Tuple[str, Dict[str, str]]]:
    """The manifest's statements as (keyword, {key: value}) in order (the input statement's
    kind, e.g. 'image', is under the key '' ). Raises ValueError for a bad first line or a
    malformed word."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "bbs-model 1":
        raise ValueError("manifest: the first line must be 'bbs-model 1'")
    statements = []
    for number, line in enumerate(lines[1:], start=2):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        keys: Dict[str, str] = {}
        for word in words[1:]:
            if "=" not in word:
                if words[0] == "input" and "" not in keys:
                    keys[""] = word
                    continue
                raise ValueError(f"manifest line {number}: {word!r} is not key=value")
            key, value = word.split("=", 1)
            keys[key] = value
        statements.append((words[0], keys))
    return statements


def read_model(path: str) -> dict:
    """Reads a bbs model file: {'manifest': text, 'statements': parse_manifest(text),
    'tensors': {name: dense numpy array}, 'csb': {name: csb_deserialize dict for .bbs entries}}.
    A .bbs tensor comes back as its dense rows x cols matrix (convolutions flattened,
    out x (in k k)); .npy tensors as stored. Checks every entry's CRC (zipfile does)."""
    tensors: Dict[str, np.ndarray] = {}
    csb: Dict[str, dict] = {}
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"read_model: {path}: entry {info.filename} is compressed")
        manifest = z.read("model.txt").decode("utf-8")
        for info in infos:
            if info.filename == "model.txt":
                continue
            data = z.read(info.filename)
            stem, ext = os.path.splitext(info.filename)
            if stem in tensors:
                raise ValueError(f"read_model: {path}: tensor {stem} stored twice")
            if ext == ".bbs":
                csb[stem] = csb_deserialize(data)
                tensors[stem] = csb[stem]["dense"]
            elif ext == ".npy":
                tensors[stem] = np.load(io.BytesIO(data), allow_pickle=False)
            else:
                raise ValueError(f"read_model: {path}: unexpected entry {info.filename}")
    return {"manifest": manifest, "statements": parse_manifest(manifest), "tensors": tensors, "csb": csb}


# ---------------------------------------------------------------------------------------------
# A PyTorch interpreter of model files (tests and sanity checks; the C++ loader is the real one).


def _kv_int(keys: Dict[str, str], key: str, default: Optional[int] = None) -> int:
    if key in keys:
        return int(keys[key])
    if default is None:
        raise ValueError(f"manifest: missing key {key}")
    return default


def build_torch_model(model_file: Union[str, dict]):
    """A torch.nn.Sequential (eval mode, float32) that computes what a model file describes,
    from read_model(path) (or a path). Matrix weights come from their .bbs files (dense) or
    from .npy (pruned here with bank_balanced_mask when the statement has bank / nnz, as the C++
    loader prunes them, after folding nothing: BatchNorm stays a BatchNorm2d, and folding
    preserves the pattern). Inputs: images (N, C, H, W), sequences (N, T, F) (batch first)."""
    m = read_model(model_file) if isinstance(model_file, str) else model_file
    tensors = m["tensors"]
    layers: "OrderedDict[str, torch.nn.Module]" = OrderedDict()

    def t(name):
        return torch.from_numpy(np.asarray(tensors[name], dtype=np.float32).copy())

    def matrix(name, keys, shape):
        w = t(name)
        if name not in m["csb"] and "bank" in keys:
            w2 = w.reshape(w.shape[0], -1)
            w = (w2 * bank_balanced_mask(w2, int(keys["bank"]), int(keys["nnz"]))).reshape(w.shape)
        return w.reshape(shape)

    count = 0
    for keyword, keys in m["statements"][1:]:
        count += 1
        lname = keys.get("name", f"_{keyword}{count}").replace(".", "_")
        if layers and isinstance(next(reversed(layers.values())), torch.nn.RNNBase) and keyword != "last_step":
            layers[f"_steps{count}"] = AllSteps()  # an LSTM / GRU's frames go on to the next layer
        if keyword == "conv2d":
            cin, cout, k = _kv_int(keys, "in"), _kv_int(keys, "out"), _kv_int(keys, "kernel")
            mod = torch.nn.Conv2d(cin, cout, k, stride=_kv_int(keys, "stride", 1), padding=_kv_int(keys, "padding", 0),
                                  bias=keys["name"] + ".bias" in tensors)
            mod.weight.data = matrix(keys["name"] + ".weight", keys, (cout, cin, k, k))
            if mod.bias is not None:
                mod.bias.data = t(keys["name"] + ".bias")
        elif keyword == "depthwise_conv2d":
            c, k = _kv_int(keys, "channels"), _kv_int(keys, "kernel")
            mod = torch.nn.Conv2d(c, c, k, stride=_kv_int(keys, "stride", 1), padding=_kv_int(keys, "padding", 0),
                                  groups=c, bias=keys["name"] + ".bias" in tensors)
            mod.weight.data = t(keys["name"] + ".weight").reshape(c, 1, k, k)
            if mod.bias is not None:
                mod.bias.data = t(keys["name"] + ".bias")
        elif keyword == "batch_norm2d":
            w = t(keys["name"] + ".weight")
            mod = torch.nn.BatchNorm2d(w.numel(), eps=float(keys.get("eps", "1e-05")))
            mod.weight.data, mod.bias.data = w, t(keys["name"] + ".bias")
            mod.running_mean.data, mod.running_var.data = t(keys["name"] + ".running_mean"), t(keys["name"] + ".running_var")
        elif keyword in ("relu", "relu6"):
            mod = torch.nn.ReLU() if keyword == "relu" else torch.nn.ReLU6()
        elif keyword in ("max_pool2d", "avg_pool2d"):
            k = _kv_int(keys, "kernel")
            cls = torch.nn.MaxPool2d if keyword == "max_pool2d" else torch.nn.AvgPool2d
            mod = cls(k, stride=_kv_int(keys, "stride", k))
        elif keyword == "global_avg_pool2d":
            mod = torch.nn.AdaptiveAvgPool2d(1)
        elif keyword == "flatten":
            mod = torch.nn.Flatten()
        elif keyword == "linear":
            cin, cout = _kv_int(keys, "in"), _kv_int(keys, "out")
            mod = torch.nn.Linear(cin, cout, bias=keys["name"] + ".bias" in tensors)
            mod.weight.data = matrix(keys["name"] + ".weight", keys, (cout, cin))
            if mod.bias is not None:
                mod.bias.data = t(keys["name"] + ".bias")
        elif keyword in ("lstm", "gru"):
            name = keys["name"]
            inp, hid, nl = _kv_int(keys, "input"), _kv_int(keys, "hidden"), _kv_int(keys, "layers", 1)
            bi = bool(_kv_int(keys, "bidirectional", 0))
            has_bias = any(k.startswith(name + ".bias_") for k in tensors)
            if keyword == "lstm":
                mod = torch.nn.LSTM(inp, hid, num_layers=nl, bidirectional=bi, batch_first=True,
                                    proj_size=_kv_int(keys, "proj", 0), bias=has_bias)
            else:
                mod = torch.nn.GRU(inp, hid, num_layers=nl, bidirectional=bi, batch_first=True, bias=has_bias)
            for pname, p in mod.named_parameters():
                full = f"{name}.{pname}"
                if pname.startswith("weight"):
                    p.data = matrix(full, keys, tuple(p.shape))
                elif full in tensors:
                    p.data = t(full)
                else:  # save_model's LSTM stores the summed bias as bias_ih only
                    p.data = torch.zeros_like(p)
        elif keyword == "last_step":
            mod = LastStep(batch_first=True)
        elif keyword == "input":
            continue
        else:
            raise ValueError(f"build_torch_model: unknown statement {keyword}")
        layers[lname] = mod
    if layers and isinstance(next(reversed(layers.values())), torch.nn.RNNBase):
        layers["_steps"] = AllSteps()
    return torch.nn.Sequential(layers).eval()
