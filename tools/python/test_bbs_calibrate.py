#!/usr/bin/python3
"""Tests of python/bbs/calibration.py (per-tensor fixed-point formats from PyTorch).

    /usr/bin/python3 -m unittest discover -s tools/python -p 'test_bbs_calibrate.py'

The long-memory fixture's formats.txt is shared with the C++ test of bbs::nn::calibrate_lstm
(test/nn/test_lstm_formats.cpp): both sides must pick exactly these formats.
"""
import math
import os
import sys
import tempfile
import unittest
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import bbs_calibrate as bc  # noqa: E402
import bbs_model as bm  # noqa: E402
from make_long_memory_fixture import OUT as FIXTURE, load_fixture  # noqa: E402


def manifest_of(path):
    with zipfile.ZipFile(path) as z:
        return z.read("model.txt").decode()


class FormatRules(unittest.TestCase):
    def test_format_for_is_the_finest_width_that_holds(self):
        self.assertEqual(bc.format_for(0.0), 15)
        self.assertEqual(bc.format_for(1.0), 14)  # 2^15 does not fit int16
        self.assertEqual(bc.format_for(0.99), 15)
        self.assertEqual(bc.format_for(153.0 * 2), 6)
        self.assertEqual(bc.format_for(1e9), 0)
        for f in range(1, 16):
            largest = 32767.4 / 2 ** f  # rounds to 32767 at f: fits
            self.assertEqual(bc.format_for(largest), f)
            self.assertEqual(bc.format_for(32767.5 / 2 ** f), f - 1)  # rounds to 32768 at f

    def test_weight_format_gives_way_to_the_accumulator(self):
        self.assertEqual(bc.integer_bits(0.5), 0)
        self.assertEqual(bc.integer_bits(1.0), 1)
        self.assertEqual(bc.integer_bits(300.0), 9)
        self.assertEqual(bc.weight_format(0.5, 13, 1.0), 15)   # 15 + 13 + 1 <= 31
        self.assertEqual(bc.weight_format(0.5, 14, 300.0), 8)  # 31 - 14 - 9
        self.assertEqual(bc.weight_format(0.5, 15, 1e12), 0)


class Calibration(unittest.TestCase):
    def test_fixture_formats_match_the_shared_file(self):
        lstm, x = load_fixture()
        with open(os.path.join(FIXTURE, "formats.txt")) as f:
            narrow, wide = f.read().split()
        self.assertEqual(bc.format_spec(bc.calibrate_lstm(lstm, [x])), narrow)
        self.assertEqual(bc.format_spec(bc.calibrate_lstm(lstm, [x], cell_bits=32)), wide)
        # The cell states count: they need coarse 16-bit formats, or 32 bits.
        formats = bc.calibrate_lstm(lstm, [x])
        self.assertLess(formats[1]["c"], formats[1]["h"])
        self.assertGreater(bc.calibrate_lstm(lstm, [x], cell_bits=32)[1]["c"], 15)

    def test_wide_cell_formats(self):
        self.assertEqual(bc.cell_format_for(1.0, 16), 14)
        self.assertEqual(bc.cell_format_for(306.0, 32), 22)  # 306 * 2^22 < 2^31 <= 306 * 2^23
        self.assertEqual(bc.cell_format_for(0.0, 32), 30)
        self.assertEqual(bc.cell_format_for(1e9, 32), 16)
        with self.assertRaisesRegex(ValueError, "16 or 32"):
            bc.cell_format_for(1.0, 24)

    def test_ranges_are_the_ones_the_formats_hold(self):
        torch.manual_seed(3)
        lstm = torch.nn.LSTM(5, 12, num_layers=2, bidirectional=True, proj_size=6)
        x = 3.0 * torch.randn(9, 2, 5)
        ranges = []
        bc.observe_lstm(lstm, x, ranges)
        self.assertEqual(len(ranges), 4)
        out, _ = lstm(x)
        self.assertAlmostEqual(max(ranges[2]["output"], ranges[3]["output"]), float(out.abs().max()), places=5)
        self.assertAlmostEqual(ranges[0]["input"], float(x.abs().max()), places=6)
        formats = bc.lstm_formats(lstm, ranges, margin=2.0)
        for layer in range(2):
            for d in range(2):
                f, r = formats[layer * 2 + d], ranges[layer * 2 + d]
                self.assertEqual(f["c"], bc.format_for(2.0 * r["cell"]))
                self.assertEqual(f["m"], bc.format_for(2.0 * r["hidden"]))
                self.assertEqual(f["act"], 14)
                self.assertGreater(f["w_hr"], 0)
        self.assertEqual(formats[2]["x"], formats[0]["h"])  # layers chain
        self.assertEqual(formats[0]["h"], formats[1]["h"])  # one output format per layer

    def test_batch_first_and_sequential_models_see_the_same_ranges(self):
        torch.manual_seed(4)
        lstm = torch.nn.LSTM(4, 8, num_layers=1)
        lstm_bf = torch.nn.LSTM(4, 8, num_layers=1, batch_first=True)
        lstm_bf.load_state_dict(lstm.state_dict())
        x = torch.randn(6, 3, 4)
        self.assertEqual(bc.calibrate_lstm(lstm, [x]), bc.calibrate_lstm(lstm_bf, [x.transpose(0, 1)]))

        model = bm.sequence_classifier(4, 8, 3).train()
        batches = [torch.randn(5, 7, 4) for _ in range(3)]  # (B, T, F): the classifier is batch_first
        formats = bc.calibrate(model, batches)
        (name, lstm_in_model), = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.LSTM)]
        self.assertEqual(formats[name], bc.calibrate_lstm(lstm_in_model, batches))
        self.assertTrue(model.training)  # calibration leaves the mode as it found it

    def test_export_writes_the_formats_key(self):
        torch.manual_seed(5)
        model = bm.sequence_classifier(4, 8, 3, num_layers=2).eval()
        batches = [torch.randn(5, 7, 4)]
        formats = bc.calibrate(model, batches)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.bbsm")
            bm.export_model(model, path, lstm_formats=formats)
            (name,) = formats
            lstm_line = [ln for ln in manifest_of(path).splitlines() if ln.startswith("lstm ")][0]
            self.assertIn(" formats=" + bc.format_spec(formats[name]), lstm_line)
            self.assertIn(f"name={name}", lstm_line)
            with self.assertRaisesRegex(ValueError, "has 1 cells"):
                bm.export_model(model, path, lstm_formats={name: formats[name][:1]})
            with self.assertRaisesRegex(ValueError, "names no LSTM"):
                bm.export_model(model, path, lstm_formats={"nothing": formats[name]})

    def test_bad_inputs_are_errors(self):
        lstm = torch.nn.LSTM(3, 4)
        with self.assertRaisesRegex(ValueError, "no calibration sequences"):
            bc.calibrate_lstm(lstm, [])
        with self.assertRaisesRegex(ValueError, "3 features"):
            bc.calibrate_lstm(lstm, [torch.zeros(5, 2, 4)])
        x = torch.zeros(5, 2, 3)
        x[2, 1, 0] = math.nan
        with self.assertRaisesRegex(ValueError, "non-finite"):
            bc.calibrate_lstm(lstm, [x])
        with self.assertRaisesRegex(ValueError, "no calibration inputs"):
            bc.calibrate(torch.nn.Sequential(lstm), [])
        with self.assertRaisesRegex(ValueError, "fraction width in 0..30"):
            bc.format_spec([{"c": 31}])
        with self.assertRaisesRegex(ValueError, "fraction width in 0..15"):
            bc.format_spec([{"x": 16}])
        with self.assertRaisesRegex(ValueError, "unknown keys"):
            bc.format_spec([{"cell": 3}])
        self.assertEqual(bc.format_spec([{}, {"c": 3, "x": 2}]), "-/x:2,c:3")


if __name__ == "__main__":
    np.random.seed(0)
    unittest.main()
