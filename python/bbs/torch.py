"""bbs.torch: run a trained PyTorch model's nn.Linear, nn.LSTM and nn.Conv2d layers on bbs kernels.

    >>> import torch, bbs.torch
    >>> fast = bbs.torch.convert(model, bank_size=16, sparsity=0.875)
    >>> print(fast.bbs_conversion)          # what was converted, what it kept, what was left
    >>> with torch.inference_mode():
    ...     y = fast(x)

convert() returns a copy; the original is untouched. Each converted layer holds its weights as
bank-balanced float32 matrices (bbs.BbsMatrix) and takes and returns torch tensors on the CPU.
Inference only: a converted layer raises RuntimeError when its input requires a gradient.

Pruning. With sparsity= (or keep=) every converted weight is pruned by magnitude, bank by bank.
With neither, the weights are taken as they are: each matrix keeps as many entries per bank
as its fullest bank has nonzeros, which is exact for weights already pruned bank-balanced
(python/bbs/pruning.py's GradualPruner) and lossless for any others. A matrix whose
number of columns is not a multiple of bank_size uses the largest bank size below it that
divides the columns (reported). config= gives layers their own settings, by module name; None
for a layer leaves it as PyTorch.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bbs._bbs import BbsMatrix, Lstm
from bbs.pruning import bank_config_from_sparsity

__all__ = ["BbsConv2d", "BbsLSTM", "BbsLinear", "ConversionReport", "ConvertedMatrix", "convert"]


@dataclasses.dataclass
class ConvertedMatrix:
    """One weight matrix as bbs holds it."""

    layer: str  # module name
    tensor: str  # "weight", "weight_ih_l0", ...
    shape: Tuple[int, int]
    bank_size: int
    keep: int
    retained_magnitude: float  # sum |kept| / sum |all|, 1.0 for an all-zero matrix
    note: str = ""  # why bank_size differs from the one asked for

    def __str__(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return (
            f"{self.layer}.{self.tensor}: {self.shape[0]} x {self.shape[1]}, bank {self.bank_size}, keep "
            f"{self.keep}, {100 * self.retained_magnitude:.2f}% of the magnitude{note}"
        )


@dataclasses.dataclass
class ConversionReport:
    """What convert() did: every converted matrix, and every layer left as PyTorch with the reason."""

    matrices: List[ConvertedMatrix] = dataclasses.field(default_factory=list)
    left: List[Tuple[str, str]] = dataclasses.field(default_factory=list)

    @property
    def retained_magnitude(self) -> float:
        """Magnitude kept over all converted matrices, weighted by their sizes."""
        if not self.matrices:
            return 1.0
        total = sum(m.shape[0] * m.shape[1] for m in self.matrices)
        return sum(m.retained_magnitude * m.shape[0] * m.shape[1] for m in self.matrices) / total

    def __str__(self) -> str:
        lines = [f"bbs.torch.convert: {len(self.matrices)} matrices on bbs, {len(self.left)} layers left as PyTorch"]
        lines += [f"  {m}" for m in self.matrices]
        lines += [f"  left {name}: {why}" for name, why in self.left]
        return "\n".join(lines)


def _largest_divisor_at_most(n: int, limit: int) -> int:
    return max(d for d in range(1, min(n, limit) + 1) if n % d == 0)


def _to_bbs(
    w: torch.Tensor, layer: str, tensor: str, bank_size: int, sparsity: Optional[float], keep: Optional[int]
) -> Tuple[BbsMatrix, ConvertedMatrix]:
    """A 2-D weight as a float32 BbsMatrix, pruned as convert() documents, with its report entry."""
    dense = w.detach().to(torch.float32).cpu().contiguous().numpy()
    rows, cols = dense.shape
    bank = bank_size if cols % bank_size == 0 else _largest_divisor_at_most(cols, bank_size)
    note = "" if bank == bank_size else f"{cols} columns are not a multiple of {bank_size}"
    if sparsity is not None:
        k = bank_config_from_sparsity(bank, sparsity).nnz_per_bank
    elif keep is not None:
        k = min(keep, bank) if bank == bank_size else max(1, round(keep * bank / bank_size))
    else:  # as they are: the fullest bank's nonzeros
        k = max(1, int(np.count_nonzero(dense.reshape(rows, cols // bank, bank), axis=2).max(initial=0)))
    a = BbsMatrix.prune(dense, bank, keep=k, dtype="float32")
    total = float(np.abs(dense).sum(dtype=np.float64))
    kept = float(np.abs(a.to_dense()).sum(dtype=np.float64))
    report = ConvertedMatrix(layer, tensor, (rows, cols), bank, k, kept / total if total > 0 else 1.0, note)
    return a, report


def _inference_only(x: torch.Tensor, what: str) -> None:
    if x.requires_grad:
        raise RuntimeError(
            f"bbs.torch.{what}: runs inference only and cannot back-propagate; call the model under "
            "torch.inference_mode() or torch.no_grad(), or on inputs that do not require a gradient"
        )


def _numpy_float32(x: torch.Tensor) -> np.ndarray:
    if x.device.type != "cpu":
        raise RuntimeError(f"bbs.torch: bbs runs on the CPU; the input is on {x.device}")
    return x.detach().to(torch.float32).numpy()


class BbsLinear(nn.Module):
    """nn.Linear on a bank-balanced weight: y = x W^T + b for x of shape (..., in_features)."""

    def __init__(self, weight: BbsMatrix, bias: Optional[torch.Tensor]):
        super().__init__()
        self.weight_bbs = weight
        self.in_features = weight.shape[1]
        self.out_features = weight.shape[0]
        self.register_buffer("bias", None if bias is None else bias.detach().to(torch.float32).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _inference_only(x, "BbsLinear")
        if x.shape[-1] != self.in_features:
            raise ValueError(f"bbs.torch.BbsLinear: the input is {tuple(x.shape)}, expected (..., {self.in_features})")
        lead = x.shape[:-1]
        x2 = _numpy_float32(x.reshape(-1, self.in_features))
        # (N, in) in C order is (in, N) in Fortran order: the kernel reads it in place.
        y = torch.from_numpy(np.ascontiguousarray((self.weight_bbs @ x2.T).T))
        if self.bias is not None:
            y += self.bias
        return y.reshape(*lead, self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.weight_bbs!r}, bias={self.bias is not None}"


class BbsLSTM(nn.Module):
    """nn.LSTM on bank-balanced weights (bbs.nn.Lstm): the same arguments, flags and results."""

    def __init__(self, lstm: Lstm, batch_first: bool):
        super().__init__()
        self.lstm = lstm
        self.batch_first = batch_first
        self.input_size = lstm.input_size
        self.hidden_size = lstm.hidden_size
        self.proj_size = lstm.proj_size
        self.num_layers = lstm.num_layers
        self.bidirectional = lstm.bidirectional

    def forward(self, input, hx=None):
        if isinstance(input, nn.utils.rnn.PackedSequence):
            raise TypeError("bbs.torch.BbsLSTM: PackedSequence input is not supported; pad the batch instead")
        _inference_only(input, "BbsLSTM")
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        h0 = c0 = None
        if hx is not None:
            h0, c0 = hx
            if not batched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            h0, c0 = _numpy_float32(h0.contiguous()), _numpy_float32(c0.contiguous())
        y, hn, cn = self.lstm.forward(_numpy_float32(x.contiguous()), h0, c0)
        y, hn, cn = torch.from_numpy(y), torch.from_numpy(hn), torch.from_numpy(cn)
        if batched and self.batch_first:
            y = y.transpose(0, 1)
        if not batched:
            y, hn, cn = y.squeeze(1), hn.squeeze(1), cn.squeeze(1)
        dtype = input.dtype
        return y.to(dtype), (hn.to(dtype), cn.to(dtype))

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, batch_first={self.batch_first}, "
            f"bidirectional={self.bidirectional}, proj_size={self.proj_size}"
        )


class BbsConv2d(nn.Module):
    """nn.Conv2d (groups 1, zero padding) as one bank-balanced SpMM over the unfolded input."""

    def __init__(self, conv: nn.Conv2d, weight: BbsMatrix):
        super().__init__()
        self.weight_bbs = weight
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size, self.stride = conv.kernel_size, conv.stride
        self.padding, self.dilation = conv.padding, conv.dilation
        bias = conv.bias
        self.register_buffer("bias", None if bias is None else bias.detach().to(torch.float32).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _inference_only(x, "BbsConv2d")
        batched = x.dim() == 4
        if not batched:
            x = x.unsqueeze(0)
        n, _, h, w = x.shape
        kh, kw = self.kernel_size
        padding = self.padding
        if isinstance(padding, str):  # "same" / "valid": what PyTorch pads for them
            if padding == "valid":
                padding = (0, 0)
            else:
                padding = tuple((d * (k - 1)) // 2 for d, k in zip(self.dilation, self.kernel_size))
                if any((d * (k - 1)) % 2 for d, k in zip(self.dilation, self.kernel_size)):
                    raise ValueError("bbs.torch.BbsConv2d: padding='same' with an even kernel is not supported")
        oh = (h + 2 * padding[0] - self.dilation[0] * (kh - 1) - 1) // self.stride[0] + 1
        ow = (w + 2 * padding[1] - self.dilation[1] * (kw - 1) - 1) // self.stride[1] + 1
        if (kh, kw) == (1, 1) and self.stride == (1, 1) and tuple(padding) == (0, 0):
            cols = x.reshape(n, self.in_channels, h * w)
        else:
            cols = F.unfold(x, self.kernel_size, dilation=self.dilation, padding=padding, stride=self.stride)
        # (K, N * L) in C order: one row-major SpMM for the whole batch.
        k = cols.shape[1]
        xs = _numpy_float32(cols.transpose(0, 1).reshape(k, n * oh * ow).contiguous())
        y = torch.from_numpy(self.weight_bbs @ xs).reshape(self.out_channels, n, oh, ow).transpose(0, 1)
        if self.bias is not None:
            y = y + self.bias.reshape(1, -1, 1, 1)
        y = y.contiguous().to(x.dtype)
        return y if batched else y.squeeze(0)

    def extra_repr(self) -> str:
        return f"{self.weight_bbs!r}, kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _convert_lstm(name: str, m: nn.LSTM, settings: dict, report: ConversionReport) -> Optional[BbsLSTM]:
    directions = 2 if m.bidirectional else 1
    cells = []
    for layer in range(m.num_layers):
        for d in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            matrices = {}
            for t in ("weight_ih", "weight_hh") + (("weight_hr",) if m.proj_size > 0 else ()):
                a, entry = _to_bbs(getattr(m, t + suffix), name, t + suffix, **settings)
                matrices[t] = a
                report.matrices.append(entry)
            if m.bias:
                bias = (getattr(m, "bias_ih" + suffix).double() + getattr(m, "bias_hh" + suffix).double()).float()
            else:
                bias = torch.zeros(4 * m.hidden_size)
            cells.append((matrices["weight_ih"], matrices["weight_hh"], bias.detach().numpy(), matrices.get("weight_hr")))
    return BbsLSTM(Lstm(cells, m.num_layers, m.bidirectional), m.batch_first)


def _why_not(m: nn.Module) -> Optional[str]:
    """Why a layer of a convertible type stays PyTorch, or None."""
    if isinstance(m, nn.Conv2d):
        if m.groups != 1:
            return f"groups={m.groups} (depthwise and grouped convolutions have no rows to balance across channels)"
        if m.padding_mode != "zeros":
            return f"padding_mode={m.padding_mode!r} (bbs pads with zeros)"
    if isinstance(m, nn.LSTM) and m.dropout > 0 and m.training:
        return "dropout in training mode (call model.eval() first)"
    return None


def convert(
    model: nn.Module,
    bank_size: int = 16,
    sparsity: Optional[float] = None,
    keep: Optional[int] = None,
    config: Optional[Dict[str, Optional[dict]]] = None,
) -> nn.Module:
    """A copy of `model` whose nn.Linear, nn.LSTM and nn.Conv2d layers run on bbs kernels.

    bank_size, sparsity / keep: every layer's pruning (see the module's documentation); give at
    most one of sparsity and keep. config: per module name, a dict overriding bank_size,
    sparsity and keep for that layer, or None to leave it as PyTorch. The copy's attribute
    bbs_conversion is a ConversionReport.
    """
    if sparsity is not None and keep is not None:
        raise ValueError("bbs.torch.convert: give at most one of sparsity and keep")
    config = dict(config or {})
    names = {n for n, _ in model.named_modules()}
    unknown = sorted(set(config) - names)
    if unknown:
        raise ValueError(f"bbs.torch.convert: config names modules the model does not have: {unknown}")
    converted = copy.deepcopy(model)
    report = ConversionReport()
    replacements = []
    for name, m in converted.named_modules():
        if not isinstance(m, (nn.Linear, nn.LSTM, nn.Conv2d)):
            continue
        if name in config and config[name] is None:
            report.left.append((name, "config says None"))
            continue
        settings = {"bank_size": bank_size, "sparsity": sparsity, "keep": keep}
        overrides = config.get(name) or {}
        if "sparsity" in overrides:
            settings["keep"] = None
        if "keep" in overrides:
            settings["sparsity"] = None
        settings.update(overrides)
        why = _why_not(m)
        if why:
            report.left.append((name, why))
            continue
        if isinstance(m, nn.Linear):
            a, entry = _to_bbs(m.weight, name, "weight", **settings)
            report.matrices.append(entry)
            replacements.append((name, BbsLinear(a, m.bias)))
        elif isinstance(m, nn.LSTM):
            replacements.append((name, _convert_lstm(name, m, settings, report)))
        else:
            a, entry = _to_bbs(m.weight.reshape(m.out_channels, -1), name, "weight", **settings)
            report.matrices.append(entry)
            replacements.append((name, BbsConv2d(m, a)))
    for name, new in replacements:
        if name == "":
            converted = new
            continue
        parent_name, _, child = name.rpartition(".")
        parent = converted.get_submodule(parent_name) if parent_name else converted
        setattr(parent, child, new)
    converted.bbs_conversion = report
    return converted
