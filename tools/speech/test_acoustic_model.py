#!/usr/bin/python3
"""Tests of tools/speech/acoustic_model.py: greedy CTC decoding, the edit distance behind PER,
the export's folding of the feature normalisation (same outputs on raw features, pruned weights
still zero), and the --smoke run (tiny corpus, training, BBS pruning to 87.5 %, export).
Run: /usr/bin/python3 tools/speech/test_acoustic_model.py   (needs python3-torch, espeak-ng, flite, sox)"""
import os
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acoustic_model as am  # noqa: E402


class Decoding(unittest.TestCase):
    def test_greedy_merges_repeats_and_drops_blanks(self):
        best = [0, 3, 3, 0, 3, 5, 5, 5, 0, 0, 2, 9]
        logits = torch.nn.functional.one_hot(torch.tensor(best), 40).float()
        self.assertEqual(am.greedy(logits, len(best)), [3, 3, 5, 2, 9])
        self.assertEqual(am.greedy(logits, 11), [3, 3, 5, 2])  # frames past the length are padding

    def test_edit_distance(self):
        self.assertEqual(am.edit_distance([], []), 0)
        self.assertEqual(am.edit_distance([1, 2, 3], []), 3)
        self.assertEqual(am.edit_distance([], [1, 2]), 2)
        self.assertEqual(am.edit_distance([1, 2, 3, 4], [1, 3, 4, 5]), 2)
        self.assertEqual(am.edit_distance([7, 7, 7], [7, 7, 7]), 0)


class Export(unittest.TestCase):
    def test_the_normalisation_folds_into_the_first_layer(self):
        torch.manual_seed(3)
        rng = np.random.default_rng(3)
        model = am.build(rng.normal(-3, 2, 40), rng.uniform(0.5, 3, 40), hidden=12, layers=2).eval()
        with torch.no_grad():
            model.rnn.weight_ih_l0[:, ::3] = 0.0  # pruned columns must stay pruned
        folded = am.exportable(model)
        x = torch.from_numpy(rng.normal(-3, 2, (2, 9, 40)).astype(np.float32))
        with torch.no_grad():
            self.assertLess(float((folded(x) - model(x)).abs().max()), 1e-4)
        self.assertTrue(bool((folded.rnn.weight_ih_l0[:, ::3] == 0).all()))
        for name, p in folded.rnn.named_parameters():
            if name != "weight_ih_l0" and name != "bias_ih_l0":
                self.assertTrue(torch.equal(p, dict(model.rnn.named_parameters())[name]), name)


class Smoke(unittest.TestCase):
    def test_end_to_end(self):
        summary = am.main(["--smoke"])
        self.assertEqual(summary["method"], "bbs")
        self.assertAlmostEqual(summary["sparsity"], 0.875)
        for split in ("val", "test", "cross"):
            self.assertTrue(0.0 <= summary["per"][split] <= 2.0)


if __name__ == "__main__":
    unittest.main()
