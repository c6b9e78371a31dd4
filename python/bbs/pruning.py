"""bbs.pruning: pruning masks and gradual pruning for PyTorch models, with exactly the rules of bbs's
C++ side.

Needs torch (Debian's python3-torch, under ``/usr/bin/python3``), not the compiled extension:
tools/ scripts import it from the source tree as ``bbs_pruning`` (tools/python/bbs_pruning.py).

Masks (boolean tensors, True = kept), each equal entry for entry to its C++ counterpart
(include/bbs/prune/bank_balanced.hpp and patterns.hpp); test/data/masks/ holds shared matrices
that both sides check:

- ``bank_balanced_mask(w, bank_size, nnz_per_bank)``: every row is cut into banks of
  ``bank_size`` consecutive columns and each bank keeps its ``nnz_per_bank`` largest magnitudes;
  ties keep the lower column; a partial last bank of width < bank_size keeps
  min(nnz_per_bank, width) entries. Exactly the entries ``bbs::prune`` stores (padding excluded).
- ``unstructured_mask(w, sparsity)``: the kept_count(rows * cols) largest magnitudes of the whole
  matrix; ties keep the lower row-major position.
- ``row_mask(w, sparsity)``: every row keeps its kept_count(cols) largest; ties to the lower column.
- ``block_mask(w, block_rows, block_cols, sparsity)``: tiles from the top left (edge tiles may be
  partial); the kept_count(tiles) tiles of largest Frobenius norm are kept whole; ties keep the
  lower tile in row-major tile order.

``calibrated_bank_balanced(w, x, bank_size, nnz_per_bank)`` prunes one-shot with weight updates
from calibration inputs (``bbs::prune_calibrated``); test/data/masks/calibrated.npz holds its
results for the C++ test to compare.

Kept counts use ``BankConfig::from_sparsity``'s rounding (nearest, halves up, at least 1 below
sparsity 1): see ``kept_count`` and ``bank_config_from_sparsity``. Magnitudes are ordered exactly
as C++ orders their double values. NaN or infinite weights raise ValueError (C++ throws
value_error), and so do bad configurations (C++ config_error).

A weight with more than two dimensions is pruned as the matrix ``w.reshape(w.shape[0], -1)``: a
convolution weight (out, in / groups, kh, kw) becomes (out, in / groups * kh * kw), the weight
matrix of an im2col convolution whose column index is (channel * kh + i) * kw + j. Banks then cut
that flattened row. The returned mask has the weight's shape.

Gradual pruning (``GradualPruner``) raises the sparsity of chosen parameters from an initial to a
final value on the cubic schedule of Zhu & Gupta (2017), "To prune, or not to prune":

    s(t) = s_f + (s_i - s_f) * (1 - (t - t0) / (t1 - t0)) ** 3   for t0 <= t <= t1,

s_i before t0 and s_f after t1, with masks recomputed every ``frequency`` steps from the current
(masked) weights and re-applied after every optimizer step, so pruned weights stay zero while the
others fine-tune. It prunes fast at first, while many redundant weights remain, and slowly near
the end. See the class docstring for the training loop.
"""
from __future__ import annotations

import math
import re
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple, Union

import torch

__all__ = [
    "BankConfig",
    "bank_config_from_sparsity",
    "kept_count",
    "round_kept",
    "bank_balanced_mask",
    "unstructured_mask",
    "row_mask",
    "block_mask",
    "compute_mask",
    "cubic_sparsity",
    "prunable_parameters",
    "GradualPruner",
]

MAX_BANK_SIZE = 65536  # bbs::max_bank_size: the largest bank a 16-bit in-bank index addresses


class BankConfig(NamedTuple):
    """bbs::BankConfig: banks of ``bank_size`` columns, each keeping ``nnz_per_bank`` entries."""

    bank_size: int
    nnz_per_bank: int

    @property
    def density(self) -> float:
        return self.nnz_per_bank / self.bank_size

    @property
    def sparsity(self) -> float:
        return 1.0 - self.density


# ---------------------------------------------------------------------------------------------
# Rounding rules (ports of bank_config.hpp and patterns.hpp; Python floats are IEEE doubles).


def _check_sparsity(who: str, sparsity: float) -> float:
    s = float(sparsity)
    if not (0.0 <= s <= 1.0):  # also rejects NaN
        raise ValueError(f"{who}: sparsity must be in [0, 1], got {sparsity}")
    return s


def _check_bank(bank_size: int, nnz_per_bank: int) -> None:
    if not 1 <= bank_size <= MAX_BANK_SIZE:
        raise ValueError(f"BankConfig: bank_size must be in [1, {MAX_BANK_SIZE}], got {bank_size}")
    if not 0 <= nnz_per_bank <= bank_size:
        raise ValueError(f"BankConfig: nnz_per_bank must be in [0, bank_size = {bank_size}], got {nnz_per_bank}")


def bank_config_from_sparsity(bank_size: int, sparsity: float) -> BankConfig:
    """BankConfig::from_sparsity: nnz_per_bank = round(bank_size * (1 - sparsity)), halves up,
    at least 1 unless sparsity is exactly 1. (64, 0.875) -> 8, (16, 0.9) -> 2, (10, 0.95) -> 1,
    (16, 0.99) -> 1, (16, 1.0) -> 0. Raises ValueError for a sparsity outside [0, 1] or a bank
    size outside [1, 65536]."""
    s = _check_sparsity("bank_config_from_sparsity", sparsity)
    bank_size = int(bank_size)
    _check_bank(bank_size, 0)
    if s == 1.0:
        return BankConfig(bank_size, 0)
    kept = bank_size * (1.0 - s)
    k = int(math.floor(kept + 0.5 + 1e-9))  # the 1e-9 absorbs the binary error of decimal sparsities
    return BankConfig(bank_size, min(max(k, 1), bank_size))


def round_kept(wanted: float, n: int) -> int:
    """detail::round_kept: a wanted count rounded to the nearest integer, halves up, at least 1
    when anything is wanted, at most n; 0 when n <= 0 or nothing is wanted."""
    if n <= 0 or not wanted > 0.0:
        return 0
    slack = 1e-9 + 1e-15 * n
    rounded = math.floor(wanted + 0.5 + slack)
    if rounded >= n:
        return n
    return max(1, int(rounded))


def kept_count(n: int, sparsity: float) -> int:
    """detail::kept_count: entries kept out of n at a sparsity; 0 at sparsity 1 or for n = 0."""
    if sparsity >= 1.0:
        return 0
    return round_kept(n * (1.0 - sparsity), n)


# ---------------------------------------------------------------------------------------------
# Masks.


def _as_matrix(who: str, weight: torch.Tensor) -> torch.Tensor:
    """The weight as a 2-D matrix (rows = first dimension), detached."""
    if not isinstance(weight, torch.Tensor):
        weight = torch.as_tensor(weight)
    if weight.dim() < 2:
        raise ValueError(f"{who}: needs a matrix (2 or more dimensions), got shape {tuple(weight.shape)}")
    w = weight.detach()
    return w.reshape(w.shape[0], math.prod(w.shape[1:]))  # not -1: ambiguous for 0 rows


def _magnitudes(who: str, w: torch.Tensor) -> torch.Tensor:
    """|w| (rows x cols) in a type that orders magnitudes exactly as C++'s double does: float64
    for float64 and integer weights, float32 (exact) for float32, float16 and bfloat16 ones.
    ValueError naming the first NaN or inf in row-major order."""
    if w.is_complex() or not (w.is_floating_point() or w.dtype in _INTEGER_DTYPES):
        raise ValueError(f"{who}: weights must be real numbers, got {w.dtype}")
    exact = torch.float32 if w.is_floating_point() and w.dtype != torch.float64 else torch.float64
    m = w.to(exact).abs()
    if not bool(torch.isfinite(m).all()):
        p = int(torch.nonzero(~torch.isfinite(m).reshape(-1))[0])
        r, c = divmod(p, w.shape[1])
        raise ValueError(f"{who}: weight ({r}, {c}) is {float(w[r, c])}; pruning needs finite weights")
    return m


_INTEGER_DTYPES = (torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64)


def _top_along_last(score: torch.Tensor, keep: int) -> torch.Tensor:
    """Boolean tensor marking, along the last dimension, the `keep` largest scores; ties to the
    lower position. No sort: the keep-th largest score is a threshold and every score at or
    above it is kept; where more scores equal the threshold (-0.0 == 0.0) than there is room
    for, only the first of them in position order are."""
    shape = score.shape
    n = shape[-1] if score.dim() > 0 else 0
    if keep <= 0 or score.numel() == 0:
        return torch.zeros(shape, dtype=torch.bool, device=score.device)
    if keep >= n:
        return torch.ones(shape, dtype=torch.bool, device=score.device)
    score = score.reshape(-1, n)
    threshold = torch.topk(score, keep, dim=-1, sorted=True).values[:, -1:]
    kept = score >= threshold
    tied = torch.nonzero(kept.sum(dim=-1) > keep).reshape(-1)  # lines with too many ties
    if tied.numel() > 0:
        s, t = score[tied], threshold[tied]
        above, at = s > t, s == t
        room = keep - above.sum(dim=-1, keepdim=True)
        kept[tied] = above | (at & (at.cumsum(dim=-1) <= room))
    return kept.reshape(shape)


def bank_balanced_mask(weight: torch.Tensor, bank_size: int, nnz_per_bank: int) -> torch.Tensor:
    """The entries bbs::prune(w, BankConfig(bank_size, nnz_per_bank)) keeps, as a bool tensor of
    the weight's shape.

    Every row is cut into banks of bank_size consecutive columns; each bank keeps its nnz_per_bank
    largest |w|, ties to the lower column (kept zeros count as kept). When the column count is not
    a multiple of bank_size, the last bank of width < bank_size keeps min(nnz_per_bank, width)
    entries. Raises ValueError for an invalid configuration or a NaN / infinite weight."""
    bank_size, nnz_per_bank = int(bank_size), int(nnz_per_bank)
    _check_bank(bank_size, nnz_per_bank)
    w = _as_matrix("bank_balanced_mask", weight)
    m = _magnitudes("bank_balanced_mask", w)
    rows, cols = m.shape
    banks = -(-cols // bank_size)
    # Padding columns score -1, below every real magnitude: they rank last in their bank, so a
    # partial bank keeps its real entries first, and padding that ranks within k is cut off below.
    padded = m
    if banks * bank_size != cols:
        padded = torch.full((rows, banks * bank_size), -1.0, dtype=m.dtype, device=m.device)
        padded[:, :cols] = m
    kept = _top_along_last(padded.reshape(rows, banks, bank_size), nnz_per_bank)
    return kept.reshape(rows, banks * bank_size)[:, :cols].reshape(weight.shape)


def unstructured_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Global magnitude pruning: keeps the kept_count(rows * cols, sparsity) largest |w| of the
    whole matrix; ties to the lower row-major position. bbs::unstructured_mask."""
    s = _check_sparsity("unstructured_mask", sparsity)
    w = _as_matrix("unstructured_mask", weight)
    m = _magnitudes("unstructured_mask", w)
    return _top_along_last(m.reshape(-1), kept_count(m.numel(), s)).reshape(weight.shape)


def row_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Unstructured pruning of each row: every row keeps its kept_count(cols, sparsity) largest
    |w|; ties to the lower column. bbs::unstructured_row_mask."""
    s = _check_sparsity("row_mask", sparsity)
    w = _as_matrix("row_mask", weight)
    m = _magnitudes("row_mask", w)
    return _top_along_last(m, kept_count(m.shape[1], s)).reshape(weight.shape)


def _overflow_scale(largest: float) -> float:
    """detail::overflow_scale: a power of two bringing the largest magnitude below 1 when above 1."""
    if not largest > 1.0:
        return 1.0
    _, exponent = math.frexp(largest)
    return math.ldexp(1.0, -exponent)


def block_mask(weight: torch.Tensor, block_rows: int, block_cols: int, sparsity: float) -> torch.Tensor:
    """Block pruning: the matrix is tiled by block_rows x block_cols tiles from the top left (edge
    tiles may be partial, and compete with their smaller norm); the kept_count(tiles, sparsity)
    tiles of largest Frobenius norm are kept whole; ties to the lower tile in row-major tile order.
    bbs::block_mask. Tiles are ranked by squared norms summed in float64; two norms equal to within
    rounding may rank in another order than in C++, which sums in another order (exact sums, e.g.
    of small integers, rank identically)."""
    block_rows, block_cols = int(block_rows), int(block_cols)
    if block_rows < 1 or block_cols < 1:
        raise ValueError(f"block_mask: block size must be at least 1 x 1, got {block_rows} x {block_cols}")
    s = _check_sparsity("block_mask", sparsity)
    w = _as_matrix("block_mask", weight)
    m = _magnitudes("block_mask", w).to(torch.float64)  # squared norms are summed in double, as in C++
    rows, cols = m.shape
    tr, tc = -(-rows // block_rows), -(-cols // block_cols)
    keep = kept_count(tr * tc, s)
    if keep == 0:
        return torch.zeros(weight.shape, dtype=torch.bool, device=m.device)
    scale = _overflow_scale(float(m.max()))
    padded = torch.zeros((tr * block_rows, tc * block_cols), dtype=torch.float64, device=m.device)
    padded[:rows, :cols] = (m * scale).square()
    norms = padded.reshape(tr, block_rows, tc, block_cols).sum(dim=(1, 3))
    tiles = _top_along_last(norms.reshape(-1), keep).reshape(tr, tc)
    full = tiles.repeat_interleave(block_rows, dim=0).repeat_interleave(block_cols, dim=1)
    return full[:rows, :cols].reshape(weight.shape)


METHODS = ("bbs", "unstructured", "row", "block")


def compute_mask(
    weight: torch.Tensor,
    method: str,
    sparsity: float,
    bank_size: Optional[int] = None,
    block: Optional[Tuple[int, int]] = None,
) -> torch.Tensor:
    """The mask of one method at a sparsity: 'bbs' (bank_size, nnz_per_bank from
    bank_config_from_sparsity), 'unstructured', 'row' or 'block' (block = (rows, cols))."""
    if method == "bbs":
        if bank_size is None:
            raise ValueError("compute_mask: method 'bbs' needs bank_size")
        cfg = bank_config_from_sparsity(bank_size, sparsity)
        return bank_balanced_mask(weight, cfg.bank_size, cfg.nnz_per_bank)
    if method == "unstructured":
        return unstructured_mask(weight, sparsity)
    if method == "row":
        return row_mask(weight, sparsity)
    if method == "block":
        if block is None:
            raise ValueError("compute_mask: method 'block' needs block = (rows, cols)")
        return block_mask(weight, block[0], block[1], sparsity)
    raise ValueError(f"compute_mask: unknown method {method!r}; expected one of {', '.join(METHODS)}")


# ---------------------------------------------------------------------------------------------
# One-shot calibrated pruning.


def _calibration_factor(who: str, w: torch.Tensor, inputs: torch.Tensor, damping: float) -> torch.Tensor:
    """U, the upper Cholesky factor of (X^T X + lambda I)^-1 (calibrated.hpp's rule), after the
    checks every calibrated pruning makes."""
    if not (damping > 0.0 and math.isfinite(damping)):
        raise ValueError(f"{who}: damping is {damping}, expected > 0")
    _magnitudes(who, w)  # finiteness, with the weight named
    x = inputs.detach().to(torch.float64)
    rows, cols = w.shape
    if x.dim() != 2 or x.shape[1] != cols:
        raise ValueError(f"{who}: inputs are {tuple(x.shape)}, expected (samples, {cols}): one input vector per row "
                         f"for a ({rows}, {cols}) weight")
    if not bool(torch.isfinite(x).all()):
        p = int(torch.nonzero(~torch.isfinite(x).reshape(-1))[0])
        raise ValueError(f"{who}: calibration input {divmod(p, cols)} is not finite")
    h = x.T @ x
    diag = torch.diagonal(h)
    diag[diag == 0.0] = 1.0
    h += damping * float(diag.mean()) * torch.eye(cols, dtype=torch.float64)
    return torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)


def _calibrated_sweep(w: torch.Tensor, u: torch.Tensor, block: int, choose) -> torch.Tensor:
    """calibrated.hpp's column sweep on w (float64, updated in place): for each block of `block`
    columns, choose(saliency) gives the kept mask of the block from w_c^2 / U_cc^2; then each
    column's pruned weights become zero and move w_j / U_jj times row j of U onto later columns.
    Returns the kept mask."""
    rows, cols = w.shape
    d = torch.diagonal(u)
    mask = torch.zeros((rows, cols), dtype=torch.bool)
    for first in range(0, cols, block):
        width = min(block, cols - first)
        mask[:, first:first + width] = choose((w[:, first:first + width] / d[first:first + width]).square())
        for j in range(first, first + width):
            error = torch.where(mask[:, j], torch.zeros_like(w[:, j]), w[:, j] / u[j, j])
            w[:, j] = torch.where(mask[:, j], w[:, j], torch.zeros_like(w[:, j]))
            w[:, j + 1:] -= error[:, None] * u[j, j + 1:][None, :]
    return mask


def calibrated_bank_balanced(
    weight: torch.Tensor, inputs: torch.Tensor, bank_size: int, nnz_per_bank: int, damping: float = 0.01
) -> Tuple[torch.Tensor, torch.Tensor]:
    """bbs::prune_calibrated (include/bbs/prune/calibrated.hpp) in PyTorch: one-shot bank-balanced
    pruning of a (rows, cols) weight that updates the kept weights from calibration ``inputs``,
    (samples, cols): the layer's input vectors, one per row, as a batch reaches ``x @ w.T``.

    With H = X^T X + lambda I (lambda = damping * mean diagonal; an input that is always zero gets
    unit curvature first) and U the upper Cholesky factor of H^-1, the columns are swept left to
    right: at a bank's first column every row keeps the nnz_per_bank columns of largest
    w_c^2 / U_cc^2 (ties to the lower column; a partial last bank keeps min(k, width)); at column j
    every pruned weight becomes zero and moves w_j / U_jj times row j of U onto the later columns.
    Returns (pruned weight in float64, pruned entries exactly zero; bool mask of the kept entries).
    Raises ValueError on a bad configuration, a shape mismatch, or a NaN / infinite value."""
    bank_size, nnz_per_bank = int(bank_size), int(nnz_per_bank)
    _check_bank(bank_size, nnz_per_bank)
    who = "calibrated_bank_balanced"
    w = _as_matrix(who, weight).detach().to(torch.float64).clone()
    u = _calibration_factor(who, w, inputs, damping)
    mask = _calibrated_sweep(w, u, bank_size, lambda sal: _top_along_last(sal, min(nnz_per_bank, sal.shape[1])))
    return w.reshape(weight.shape), mask.reshape(weight.shape)


def calibrated_unstructured(
    weight: torch.Tensor, inputs: torch.Tensor, sparsity: float, damping: float = 0.01, block: int = 128
) -> Tuple[torch.Tensor, torch.Tensor]:
    """bbs::prune_calibrated_unstructured: the same sweep over blocks of `block` columns, each
    block keeping its kept_count(rows * width, sparsity) weights of largest saliency wherever they
    are (ties to the lower row-major position). Returns (pruned weight in float64, kept mask)."""
    s = _check_sparsity("calibrated_unstructured", sparsity)
    if int(block) < 1:
        raise ValueError(f"calibrated_unstructured: block is {block}, expected >= 1")
    who = "calibrated_unstructured"
    w = _as_matrix(who, weight).detach().to(torch.float64).clone()
    u = _calibration_factor(who, w, inputs, damping)
    mask = _calibrated_sweep(
        w, u, int(block), lambda sal: _top_along_last(sal.reshape(-1), kept_count(sal.numel(), s)).reshape(sal.shape))
    return w.reshape(weight.shape), mask.reshape(weight.shape)


# ---------------------------------------------------------------------------------------------
# Gradual pruning.


def cubic_sparsity(step: int, initial: float, final: float, begin_step: int, end_step: int) -> float:
    """Zhu & Gupta (2017)'s schedule: s_f + (s_i - s_f) * (1 - (t - t0) / (t1 - t0)) ** 3, clamped:
    the initial sparsity before begin_step, the final one from end_step on."""
    if step < begin_step:
        return float(initial)
    if step >= end_step:
        return float(final)
    progress = (step - begin_step) / (end_step - begin_step)
    return float(final + (initial - final) * (1.0 - progress) ** 3)


_RNN_WEIGHT = re.compile(r"weight_(ih|hh|hr)_l\d+(_reverse)?$")


def prunable_parameters(model: torch.nn.Module) -> List[Tuple[str, torch.nn.Parameter]]:
    """The weights bbs runs as BBS matrices: LSTM / GRU / RNN weight_ih_l*, weight_hh_l* (and an
    LSTM projection's weight_hr_l*), each pruned as its own matrix; Linear weights; and Conv1d/2d/3d
    weights of ungrouped convolutions (pointwise and k x k; a depthwise or other grouped
    convolution keeps dense weights, as bbs's depthwise layer does). Biases, norms and embeddings
    are left dense. Returns (qualified name, parameter) pairs in module order."""
    chosen: List[Tuple[str, torch.nn.Parameter]] = []
    for module_name, module in model.named_modules():
        prefix = module_name + "." if module_name else ""
        if isinstance(module, torch.nn.RNNBase):
            for name, p in module.named_parameters(recurse=False):
                if _RNN_WEIGHT.match(name):
                    chosen.append((prefix + name, p))
        elif isinstance(module, torch.nn.Linear):
            chosen.append((prefix + "weight", module.weight))
        elif isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)) and module.groups == 1:
            chosen.append((prefix + "weight", module.weight))
    return chosen


class GradualPruner:
    """Gradual magnitude pruning with masked fine-tuning (Zhu & Gupta 2017; the BBS paper's
    iterative pruning).

    Every ``frequency`` steps from ``begin_step`` up to ``end_step`` the target sparsity follows
    ``cubic_sparsity``, and each chosen parameter's mask is recomputed with ``method`` from its
    current (already masked) weights: 'bbs' (bank_size required; the sparsity is turned into
    nnz_per_bank by bank_config_from_sparsity, so it moves in steps of 1 / bank_size), 'unstructured'
    (global within each parameter), 'row', or 'block' (block = (rows, cols)). ``step()`` re-applies
    the masks after every optimizer step, so pruned weights stay exactly zero. Since pruned weights
    are zero they rank below every nonzero weight at the next update, and, as long as no kept
    weight is exactly zero, the final masks are what bbs's C++ pruning computes on the final
    weights (fine-tuning after end_step included). A weight of more than two dimensions (a
    convolution) is pruned as the matrix reshape(out, -1); see the module docstring.

    Typical loop::

        pruner = GradualPruner(model, "bbs", final_sparsity=0.875, bank_size=16,
                               begin_step=0, end_step=2000, frequency=100)
        for x, y in batches:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            pruner.step()          # updates masks on schedule, then zeroes pruned weights

    The pruner starts by applying the initial-sparsity masks (construction counts as step 0's
    update when begin_step is 0). Keep training (with ``step()``) after end_step to fine-tune at
    the final sparsity. ``parameters`` defaults to ``prunable_parameters(model)``; pass
    (name, parameter) pairs or a dict to choose others.
    """

    def __init__(
        self,
        model: Optional[torch.nn.Module],
        method: str,
        final_sparsity: float,
        *,
        initial_sparsity: float = 0.0,
        begin_step: int = 0,
        end_step: int = 1000,
        frequency: int = 100,
        bank_size: Optional[int] = None,
        block: Optional[Tuple[int, int]] = None,
        parameters: Union[None, Dict[str, torch.nn.Parameter], Iterable[Tuple[str, torch.nn.Parameter]]] = None,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"GradualPruner: unknown method {method!r}; expected one of {', '.join(METHODS)}")
        if method == "bbs":
            if bank_size is None:
                raise ValueError("GradualPruner: method 'bbs' needs bank_size")
            bank_config_from_sparsity(bank_size, 0.0)  # validates the bank size
        if method == "block" and (block is None or len(block) != 2 or min(block) < 1):
            raise ValueError(f"GradualPruner: method 'block' needs block = (rows, cols) >= 1, got {block}")
        _check_sparsity("GradualPruner initial_sparsity", initial_sparsity)
        _check_sparsity("GradualPruner final_sparsity", final_sparsity)
        if not 0 <= begin_step < end_step:
            raise ValueError(f"GradualPruner: need 0 <= begin_step < end_step, got {begin_step}, {end_step}")
        if frequency < 1:
            raise ValueError(f"GradualPruner: frequency must be at least 1, got {frequency}")
        if parameters is None:
            if model is None:
                raise ValueError("GradualPruner: pass a model or parameters")
            parameters = prunable_parameters(model)
        elif isinstance(parameters, dict):
            parameters = list(parameters.items())
        self.parameters: List[Tuple[str, torch.nn.Parameter]] = list(parameters)
        if not self.parameters:
            raise ValueError("GradualPruner: no parameters to prune")
        for name, p in self.parameters:
            if p.dim() < 2:
                raise ValueError(f"GradualPruner: parameter {name} has shape {tuple(p.shape)}; needs a matrix")
        self.method = method
        self.initial_sparsity = float(initial_sparsity)
        self.final_sparsity = float(final_sparsity)
        self.begin_step = int(begin_step)
        self.end_step = int(end_step)
        self.frequency = int(frequency)
        self.bank_size = bank_size
        self.block = tuple(block) if block is not None else None
        self.step_count = 0
        self.sparsity = self.initial_sparsity  # the target of the current masks
        self.masks: Dict[str, torch.Tensor] = {}
        self.update_masks(self.initial_sparsity)

    def is_update_step(self, step: int) -> bool:
        """Masks change at begin_step + j * frequency up to end_step, and at end_step itself."""
        if step < self.begin_step or step > self.end_step:
            return False
        return step == self.end_step or (step - self.begin_step) % self.frequency == 0

    def target_sparsity(self, step: int) -> float:
        return cubic_sparsity(step, self.initial_sparsity, self.final_sparsity, self.begin_step, self.end_step)

    @torch.no_grad()
    def update_masks(self, sparsity: float) -> None:
        """Recomputes every mask at `sparsity` from the current weights and applies them."""
        for name, p in self.parameters:
            self.masks[name] = compute_mask(p, self.method, sparsity, self.bank_size, self.block)
        self.sparsity = float(sparsity)
        self.apply_masks()

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Zeroes the pruned weights (call after every optimizer step; step() does)."""
        for name, p in self.parameters:
            p.masked_fill_(~self.masks[name], 0.0)

    def step(self) -> float:
        """Advances one training step: recomputes the masks if the schedule says so, then applies
        them. Returns the target sparsity of the masks now in force."""
        self.step_count += 1
        if self.is_update_step(self.step_count):
            self.update_masks(self.target_sparsity(self.step_count))
        else:
            self.apply_masks()
        return self.sparsity

    def report(self) -> Dict[str, float]:
        """Actual sparsity of each pruned parameter (fraction of exactly-zero entries)."""
        return {name: float((p.detach() == 0).sum()) / max(1, p.numel()) for name, p in self.parameters}

    def state_dict(self) -> dict:
        return {"step_count": self.step_count, "sparsity": self.sparsity, "masks": dict(self.masks)}

    def load_state_dict(self, state: dict) -> None:
        names = {name for name, _ in self.parameters}
        if set(state["masks"]) != names:
            raise ValueError("GradualPruner.load_state_dict: the masks name other parameters")
        self.step_count = int(state["step_count"])
        self.sparsity = float(state["sparsity"])
        self.masks = {name: m.clone() for name, m in state["masks"].items()}
        self.apply_masks()
