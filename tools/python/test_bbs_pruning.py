#!/usr/bin/python3
"""Unit tests for python/bbs/pruning.py: masks against plain loop references, kept counts, ties,
partial banks, errors, the cubic schedule and GradualPruner on tiny models.
Run: /usr/bin/python3 tools/python/test_bbs_pruning.py   (needs python3-torch)"""
import math
import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bbs_pruning as bp  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Deliberately simple references: score every candidate, sort all by (-score, position), keep a prefix.


def top(scores, keep):
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:keep]


def ref_banks(w, bank_size, k):
    rows, cols = w.shape
    mask = torch.zeros(rows, cols, dtype=torch.bool)
    for r in range(rows):
        for first in range(0, cols, bank_size):
            scores = [abs(float(w[r, c])) for c in range(first, min(cols, first + bank_size))]
            for i in top(scores, min(k, len(scores))):
                mask[r, first + i] = True
    return mask


def ref_global(w, keep):
    rows, cols = w.shape
    scores = [abs(float(w[r, c])) for r in range(rows) for c in range(cols)]
    mask = torch.zeros(rows, cols, dtype=torch.bool)
    for p in top(scores, keep):
        mask[p // cols, p % cols] = True
    return mask


def ref_rows(w, keep):
    mask = torch.zeros(w.shape, dtype=torch.bool)
    for r in range(w.shape[0]):
        for c in top([abs(float(x)) for x in w[r]], keep):
            mask[r, c] = True
    return mask


def ref_blocks(w, br, bc, keep):
    rows, cols = w.shape
    tr, tc = -(-rows // br), -(-cols // bc)
    scores = [0.0] * (tr * tc)
    for r in range(rows):
        for c in range(cols):
            scores[(r // br) * tc + c // bc] += float(w[r, c]) ** 2
    mask = torch.zeros(rows, cols, dtype=torch.bool)
    for t in top(scores, keep):
        mask[(t // tc) * br:(t // tc + 1) * br, (t % tc) * bc:(t % tc + 1) * bc] = True
    return mask


def tie_heavy(rows, cols, seed):
    """Integers in [-3, 3] with negative zeros: the tie rule decides most of each mask."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randint(-3, 4, (rows, cols), generator=g).to(torch.float32)
    flip = torch.rand(rows, cols, generator=g) < 0.5
    return torch.where((w == 0) & flip, torch.tensor(-0.0), w)


def gaussian(rows, cols, seed):
    return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))


SHAPES = [(1, 1), (1, 7), (3, 5), (4, 16), (5, 13), (7, 3), (2, 33)]
SPARSITIES = [0.0, 0.25, 0.5, 0.75, 0.875, 0.9, 1.0]


class OneImplementationTest(unittest.TestCase):
    def test_the_script_names_are_the_package_modules(self):
        import importlib

        import bbs_calibrate
        import bbs_model

        self.assertIs(bp, importlib.import_module("bbs.pruning"))
        self.assertIs(bbs_model, importlib.import_module("bbs.export"))
        self.assertIs(bbs_calibrate, importlib.import_module("bbs.calibration"))
        self.assertIs(bbs_model.bank_balanced_mask, bp.bank_balanced_mask)


class RoundingTest(unittest.TestCase):
    def test_from_sparsity_examples(self):
        # The examples of BankConfig::from_sparsity's documentation.
        self.assertEqual(bp.bank_config_from_sparsity(64, 0.875), (64, 8))
        self.assertEqual(bp.bank_config_from_sparsity(16, 0.9), (16, 2))
        self.assertEqual(bp.bank_config_from_sparsity(10, 0.95), (10, 1))
        self.assertEqual(bp.bank_config_from_sparsity(16, 0.99), (16, 1))
        self.assertEqual(bp.bank_config_from_sparsity(16, 1.0), (16, 0))
        self.assertEqual(bp.bank_config_from_sparsity(16, 0.0), (16, 16))
        self.assertEqual(bp.bank_config_from_sparsity(4, 0.375), (4, 3))  # 2.5 rounds up
        self.assertAlmostEqual(bp.bank_config_from_sparsity(64, 0.875).sparsity, 0.875)

    def test_kept_count(self):
        self.assertEqual(bp.kept_count(15, 0.9), 2)  # 1.5 rounds up despite 0.9's binary error
        self.assertEqual(bp.kept_count(100, 0.999), 1)  # never 0 below sparsity 1
        self.assertEqual(bp.kept_count(100, 1.0), 0)
        self.assertEqual(bp.kept_count(0, 0.5), 0)
        self.assertEqual(bp.kept_count(7, 0.0), 7)
        self.assertEqual(bp.kept_count(7, 0.5), 4)
        # The slack grows with n: a decimal half of a large count still rounds up.
        self.assertEqual(bp.kept_count(3_000_000_001, 0.9), 300_000_000)  # 300000000.1
        self.assertEqual(bp.kept_count(5_000_000_005, 0.9), 500_000_001)  # 500000000.5

    def test_bad_configurations(self):
        for bad in (-0.1, 1.5, math.nan):
            with self.assertRaises(ValueError):
                bp.bank_config_from_sparsity(16, bad)
            with self.assertRaises(ValueError):
                bp.unstructured_mask(torch.ones(2, 2), bad)
            with self.assertRaises(ValueError):
                bp.row_mask(torch.ones(2, 2), bad)
            with self.assertRaises(ValueError):
                bp.block_mask(torch.ones(2, 2), 1, 1, bad)
        for bank_size, k in ((0, 0), (65537, 1), (4, 5), (4, -1)):
            with self.assertRaises(ValueError):
                bp.bank_balanced_mask(torch.ones(2, 8), bank_size, k)
        with self.assertRaises(ValueError):
            bp.block_mask(torch.ones(2, 2), 0, 1, 0.5)
        with self.assertRaises(ValueError):
            bp.unstructured_mask(torch.ones(4), 0.5)  # a vector is not a matrix
        with self.assertRaises(ValueError):
            bp.compute_mask(torch.ones(2, 2), "diagonal", 0.5)


class MaskTest(unittest.TestCase):
    def check(self, got, want, what):
        self.assertEqual(got.dtype, torch.bool, what)
        self.assertEqual(tuple(got.shape), tuple(want.shape), what)
        self.assertTrue(torch.equal(got, want), f"{what}\n got {got.int()}\nwant {want.int()}")

    def test_bank_balanced_matches_reference(self):
        for rows, cols in SHAPES:
            for seed, make in enumerate((tie_heavy, gaussian)):
                w = make(rows, cols, 10 * rows + cols + seed)
                for bank_size in range(1, 9):
                    for k in range(0, bank_size + 1):
                        got = bp.bank_balanced_mask(w, bank_size, k)
                        self.check(got, ref_banks(w, bank_size, k), f"{rows}x{cols} bank {bank_size} k {k}")

    def test_larger_matrices_match_a_stable_sort(self):
        # A second, vectorised reference for sizes the loops are too slow for: a stable sort of
        # -|w| ranks equal magnitudes in position order.
        def by_sort(score, keep):
            order = torch.sort(-score, dim=-1, stable=True).indices[..., :keep]
            return torch.zeros(score.shape, dtype=torch.bool).scatter_(-1, order, True)

        for seed, w in enumerate((tie_heavy(96, 320, 1), gaussian(96, 320, 2), tie_heavy(33, 1000, 3) / 8)):
            m = w.double().abs()
            for bank_size, k in ((16, 3), (64, 8), (32, 31), (320, 40)):
                if w.shape[1] % bank_size == 0:
                    want = by_sort(m.reshape(w.shape[0], -1, bank_size), k).reshape(w.shape)
                else:
                    want = ref_banks(w, bank_size, k)
                self.check(bp.bank_balanced_mask(w, bank_size, k), want, f"matrix {seed} bank {bank_size} k {k}")
            for s in (0.5, 0.875, 0.99):
                want = by_sort(m.reshape(-1), bp.kept_count(w.numel(), s)).reshape(w.shape)
                self.check(bp.unstructured_mask(w, s), want, f"matrix {seed} global {s}")
                self.check(bp.row_mask(w, s), by_sort(m, bp.kept_count(w.shape[1], s)), f"matrix {seed} rows {s}")

    def test_bank_counts_and_partial_bank(self):
        w = gaussian(6, 21, 3)  # banks of 8: 8, 8 and a partial bank of 5
        for k in (0, 2, 5, 6, 8):
            mask = bp.bank_balanced_mask(w, 8, k)
            self.assertTrue(torch.all(mask[:, :8].sum(1) == k))
            self.assertTrue(torch.all(mask[:, 8:16].sum(1) == k))
            self.assertTrue(torch.all(mask[:, 16:].sum(1) == min(k, 5)), f"k {k}")

    def test_bank_ties_keep_lower_column(self):
        w = torch.tensor([[2.0, -2.0, 2.0, 1.0, 0.0, -0.0, 0.0, 0.0]])
        self.check(bp.bank_balanced_mask(w, 4, 2), torch.tensor([[1, 1, 0, 0, 1, 1, 0, 0]]).bool(), "ties")
        self.check(bp.bank_balanced_mask(-w, 4, 1), torch.tensor([[1, 0, 0, 0, 1, 0, 0, 0]]).bool(), "negated")
        # Reversing the columns moves which of the tied entries is kept.
        self.check(bp.bank_balanced_mask(w.flip(1), 4, 1), torch.tensor([[1, 0, 0, 0, 0, 1, 0, 0]]).bool(), "flip")

    def test_patterns_match_references(self):
        for rows, cols in SHAPES + [(0, 3), (3, 0)]:
            for seed, make in enumerate((tie_heavy, gaussian)):
                w = make(rows, cols, 7 * rows + cols + seed)
                for s in SPARSITIES:
                    what = f"{rows}x{cols} sparsity {s}"
                    self.check(bp.unstructured_mask(w, s), ref_global(w, bp.kept_count(rows * cols, s)), what)
                    self.check(bp.row_mask(w, s), ref_rows(w, bp.kept_count(cols, s)), what)
                    for br, bc in ((1, 1), (2, 2), (2, 3), (4, 4), (8, 1)):
                        tiles = -(-rows // br) * -(-cols // bc)
                        self.check(bp.block_mask(w, br, bc, s), ref_blocks(w, br, bc, bp.kept_count(tiles, s)),
                                   f"{what} block {br}x{bc}")

    def test_empty_matrices(self):
        for shape in ((0, 5), (3, 0), (0, 0)):
            w = torch.zeros(shape)
            for mask in (bp.bank_balanced_mask(w, 4, 2), bp.unstructured_mask(w, 0.5), bp.row_mask(w, 0.5),
                         bp.block_mask(w, 2, 2, 0.5)):
                self.assertEqual(tuple(mask.shape), shape)

    def test_kept_counts(self):
        w = gaussian(12, 20, 5)
        self.assertEqual(int(bp.unstructured_mask(w, 0.75).sum()), 60)
        self.assertTrue(torch.all(bp.row_mask(w, 0.75).sum(1) == 5))
        block = bp.block_mask(w, 4, 5, 0.75)  # 3 x 4 tiles, keeps 3 whole
        self.assertEqual(int(block.sum()), 60)
        tiles = block.reshape(3, 4, 4, 5).permute(0, 2, 1, 3).reshape(12, 20)
        self.assertTrue(torch.all(tiles.sum(1) % 20 == 0))  # every tile all kept or all dropped

    def test_ties_global_and_block(self):
        w = torch.tensor([[1.0, 0.0, -1.0], [1.0, -0.0, 1.0]])
        self.check(bp.unstructured_mask(w, 0.5), torch.tensor([[1, 0, 1], [1, 0, 0]]).bool(), "global ties")
        self.check(bp.row_mask(torch.zeros(2, 4), 0.5), torch.tensor([[1, 1, 0, 0]] * 2).bool(), "zero rows")
        # Tiles (0,0) and (0,1) tie with norm 2; (1,0) has 2 too; keep 2 -> the first two.
        w = torch.tensor([[1.0, 1.0, -1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
        self.check(bp.block_mask(w, 2, 2, 0.5), torch.tensor([[1, 1, 1, 1]] * 2 + [[0, 0, 0, 0]] * 2).bool(), "blocks")

    def test_non_finite_weights_raise(self):
        for bad in (math.nan, math.inf, -math.inf):
            w = torch.ones(3, 4)
            w[1, 2] = bad
            for f in (lambda: bp.bank_balanced_mask(w, 4, 2), lambda: bp.unstructured_mask(w, 0.5),
                      lambda: bp.row_mask(w, 0.5), lambda: bp.block_mask(w, 2, 2, 0.5)):
                with self.assertRaisesRegex(ValueError, r"weight \(1, 2\)"):
                    f()

    def test_dtypes_and_higher_rank(self):
        w = gaussian(4, 12, 9)
        want = bp.bank_balanced_mask(w, 4, 1)
        for dtype in (torch.float64, torch.float16, torch.bfloat16):
            # Conversions round, so the reference is the mask of the converted weights.
            v = w.to(dtype)
            self.check(bp.bank_balanced_mask(v, 4, 1), ref_banks(v, 4, 1), str(dtype))
        self.check(bp.bank_balanced_mask(w.double(), 4, 1), want, "double")
        conv = gaussian(4, 12, 9).reshape(4, 3, 2, 2)  # (out, in, kh, kw) -> (out, in * kh * kw)
        got = bp.bank_balanced_mask(conv, 4, 1)
        self.assertEqual(tuple(got.shape), (4, 3, 2, 2))
        self.check(got.reshape(4, 12), want, "conv as matrix")
        self.check(bp.unstructured_mask(w.requires_grad_(), 0.5), ref_global(w.detach(), 24), "requires_grad")


class ScheduleTest(unittest.TestCase):
    def test_cubic(self):
        self.assertEqual(bp.cubic_sparsity(0, 0.0, 0.9, 10, 110), 0.0)
        self.assertEqual(bp.cubic_sparsity(10, 0.0, 0.9, 10, 110), 0.0)
        self.assertAlmostEqual(bp.cubic_sparsity(60, 0.0, 0.9, 10, 110), 0.9 * (1 - 0.5 ** 3))
        self.assertEqual(bp.cubic_sparsity(110, 0.0, 0.9, 10, 110), 0.9)
        self.assertEqual(bp.cubic_sparsity(500, 0.0, 0.9, 10, 110), 0.9)
        values = [bp.cubic_sparsity(t, 0.2, 0.9, 0, 100) for t in range(101)]
        self.assertTrue(all(a <= b for a, b in zip(values, values[1:])))
        steps = [b - a for a, b in zip(values, values[1:])]
        self.assertTrue(all(a >= b - 1e-15 for a, b in zip(steps, steps[1:])))  # fast first, then slow


class TinyLstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.conv = torch.nn.Conv1d(16, 16, 3, padding=1)
        self.depthwise = torch.nn.Conv1d(16, 16, 3, padding=1, groups=16)
        self.head = torch.nn.Linear(16, 4)

    def forward(self, x):
        y, _ = self.lstm(x)
        y = self.depthwise(self.conv(y.transpose(1, 2))).transpose(1, 2)
        return self.head(y[:, -1])


class PrunerTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(32, 5, 8, generator=g)
        self.y = torch.randint(0, 4, (32,), generator=g)

    def test_prunable_parameters(self):
        names = [n for n, _ in bp.prunable_parameters(TinyLstm())]
        self.assertEqual(names, ["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.weight_ih_l1", "lstm.weight_hh_l1",
                                 "conv.weight", "head.weight"])
        projected = torch.nn.LSTM(4, 8, proj_size=3, bidirectional=True)
        self.assertEqual([n for n, _ in bp.prunable_parameters(projected)],
                         [n for n, _ in projected.named_parameters() if n.startswith("weight_")])
        self.assertIn("weight_hr_l0_reverse", dict(bp.prunable_parameters(projected)))

    def train(self, method, **kw):
        model = TinyLstm()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        pruner = bp.GradualPruner(model, method, 0.75, begin_step=0, end_step=20, frequency=5, **kw)
        history = []
        for _ in range(30):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(self.x), self.y).backward()
            opt.step()
            history.append(pruner.step())
            # Pruned weights are exactly zero after every step.
            for name, p in pruner.parameters:
                self.assertTrue(torch.all(p.detach()[~pruner.masks[name]] == 0), name)
        return model, pruner, history

    def test_pruner_reaches_final_sparsity_and_keeps_pruned_weights_zero(self):
        for method, kw in (("bbs", {"bank_size": 8}), ("unstructured", {}), ("row", {}), ("block", {"block": (4, 4)})):
            with self.subTest(method=method):
                model, pruner, history = self.train(method, **kw)
                self.assertEqual(history[4], bp.cubic_sparsity(5, 0.0, 0.75, 0, 20))  # updated at step 5
                self.assertEqual(history[5], history[4])  # held between updates
                self.assertTrue(all(a <= b for a, b in zip(history, history[1:])))
                self.assertEqual(history[19:], [0.75] * 11)
                for name, p in pruner.parameters:
                    want = bp.compute_mask(p, method, 0.75, kw.get("bank_size"), kw.get("block"))
                    self.assertEqual(int(pruner.masks[name].sum()), int(want.sum()), name)
                    self.assertGreaterEqual(pruner.report()[name], 0.75 - 1e-9, name)
                self.assertTrue(torch.all(model.depthwise.weight != 0))  # grouped conv stays dense
                self.assertTrue(torch.all(model.lstm.bias_ih_l0 != 0))

    def test_bbs_masks_are_the_rule_on_final_weights(self):
        _, pruner, _ = self.train("bbs", bank_size=8)
        for name, p in pruner.parameters:
            mask = pruner.masks[name]
            self.assertTrue(torch.equal(mask, bp.bank_balanced_mask(p, 8, 2)), name)
            banks = mask.reshape(mask.shape[0], -1, 8).sum(-1)
            self.assertTrue(torch.all(banks == 2), name)

    def test_begin_step_and_state(self):
        model = TinyLstm()
        pruner = bp.GradualPruner(model, "unstructured", 0.5, initial_sparsity=0.0, begin_step=3, end_step=6,
                                  frequency=1)
        self.assertEqual([pruner.step() for _ in range(7)],
                         [0.0, 0.0, 0.0, bp.cubic_sparsity(4, 0, 0.5, 3, 6), bp.cubic_sparsity(5, 0, 0.5, 3, 6),
                          0.5, 0.5])
        state = pruner.state_dict()
        other = bp.GradualPruner(TinyLstm(), "unstructured", 0.5, begin_step=3, end_step=6, frequency=1)
        other.load_state_dict(state)
        self.assertEqual(other.step_count, 7)
        for name, p in other.parameters:
            self.assertTrue(torch.equal(other.masks[name], pruner.masks[name]))
            self.assertTrue(torch.all(p.detach()[~other.masks[name]] == 0))

    def test_pruner_rejects_bad_arguments(self):
        model = TinyLstm()
        with self.assertRaises(ValueError):
            bp.GradualPruner(model, "bbs", 0.5)  # no bank_size
        with self.assertRaises(ValueError):
            bp.GradualPruner(model, "block", 0.5)
        with self.assertRaises(ValueError):
            bp.GradualPruner(model, "magic", 0.5)
        with self.assertRaises(ValueError):
            bp.GradualPruner(model, "row", 1.5)
        with self.assertRaises(ValueError):
            bp.GradualPruner(model, "row", 0.5, begin_step=5, end_step=5)
        with self.assertRaises(ValueError):
            bp.GradualPruner(model, "row", 0.5, parameters={"b": model.head.bias})


def ref_calibrated(w, x, bank, k, damping):
    """calibrated_bank_balanced from its definition, one row at a time, with explicit inverses of
    the trailing blocks of H (no Cholesky factor): an independent check."""
    w, x = w.to(torch.float64), x.to(torch.float64)
    rows, cols = w.shape
    h = x.T @ x
    for j in range(cols):
        if h[j, j] == 0:
            h[j, j] = 1.0
    h += damping * float(torch.diagonal(h).mean()) * torch.eye(cols, dtype=torch.float64)
    inv = [torch.linalg.inv(h[j:, j:]) for j in range(cols)]
    out = w.clone()
    for r in range(rows):
        row = w[r].clone()
        keep = [False] * cols
        for first in range(0, cols, bank):
            width = min(bank, cols - first)
            sal = [(float(row[c]) ** 2 / float(inv[c][0, 0]), c) for c in range(first, first + width)]
            for _, c in sorted(sal, key=lambda t: (-t[0], t[1]))[:min(k, width)]:
                keep[c] = True
            for j in range(first, first + width):
                if not keep[j]:
                    row[j:] -= (row[j] / inv[j][0, 0]) * inv[j][0]
                    row[j] = 0.0
        out[r] = row
    return out


class CalibratedTest(unittest.TestCase):
    def inputs(self, samples, cols, seed):
        g = torch.Generator().manual_seed(seed)
        mix = torch.randn(cols, 3, generator=g, dtype=torch.float64)
        return torch.randn(samples, 3, generator=g, dtype=torch.float64) @ mix.T + 0.1 * torch.randn(
            samples, cols, generator=g, dtype=torch.float64)

    def test_matches_the_explicit_inverse_reference(self):
        for (rows, cols, bank, k, seed) in [(1, 4, 4, 2, 1), (3, 10, 4, 2, 2), (4, 7, 3, 1, 3), (2, 9, 9, 3, 4),
                                            (5, 6, 4, 3, 5), (3, 8, 2, 2, 6)]:
            w = gaussian(rows, cols, seed).to(torch.float64)
            x = self.inputs(3 * cols, cols, seed + 100)
            got, mask = bp.calibrated_bank_balanced(w, x, bank, k, damping=0.05)
            want = ref_calibrated(w, x, bank, k, 0.05)
            self.assertTrue(torch.equal(got == 0, want == 0), (rows, cols, bank, k))
            self.assertTrue(bool((got[~mask] == 0).all()))  # pruned entries exactly zero
            self.assertLess(float((got - want).abs().max()), 1e-9 * (1 + float(want.abs().max())))

    def test_bank_balance_and_output_error(self):
        w = gaussian(32, 70, 7).to(torch.float64)
        x = self.inputs(300, 70, 8)
        for k in (8, 4, 2):
            got, mask = bp.calibrated_bank_balanced(w, x, 16, k)
            counts = torch.nn.functional.pad(mask, (0, 10)).reshape(32, 5, 16).sum(dim=-1)
            self.assertTrue(bool((counts[:, :4] == k).all()) and bool((counts[:, 4] == min(k, 6)).all()))
            magnitude = w * bp.bank_balanced_mask(w, 16, k)
            self.assertLess(float(((w - got) @ x.T).norm()), float(((w - magnitude) @ x.T).norm()))

    def test_bad_arguments_raise(self):
        w, x = gaussian(4, 8, 9), self.inputs(16, 8, 10)
        with self.assertRaisesRegex(ValueError, "expected \\(samples, 8\\)"):
            bp.calibrated_bank_balanced(w, x.T, 4, 2)
        with self.assertRaisesRegex(ValueError, "damping is 0"):
            bp.calibrated_bank_balanced(w, x, 4, 2, damping=0)
        bad = x.clone()
        bad[3, 5] = float("nan")
        with self.assertRaisesRegex(ValueError, "calibration input \\(3, 5\\)"):
            bp.calibrated_bank_balanced(w, bad, 4, 2)


if __name__ == "__main__":
    unittest.main()
