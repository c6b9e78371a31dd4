#!/usr/bin/python3
"""Tests of python/bbs/export.py (the CSB writer, the model exporter and reader).

    /usr/bin/python3 -m unittest discover -s tools/python -p 'test_bbs_model.py'

Needs Debian's python3-torch. Fast (a few seconds). The CSB files under test/data/models/csb/ were
written by the C++ CLI (``bbs prune``; tools/fixtures/make_model_fixtures.py --bbs), so byte equality here
is equality with ``bbs::save``.
"""
import glob
import os
import struct
import sys
import tempfile
import unittest
import zipfile
import zlib
from collections import OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bbs_model as bm  # noqa: E402
from bbs_pruning import bank_balanced_mask, unstructured_mask  # noqa: E402

DATA = os.path.join(HERE, "..", "..", "test", "data", "models")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def header(data):
    _, _, code, _, _, rows, cols, bank, k, _ = struct.unpack("<8sIIIIqqIIQ", data[:56])
    return code, rows, cols, bank, k


class CsbWriter(unittest.TestCase):
    def test_byte_equal_to_cpp(self):
        files = sorted(glob.glob(os.path.join(DATA, "csb", "*.bbs")))
        self.assertGreaterEqual(len(files), 7)
        for path in files:
            with self.subTest(os.path.basename(path)):
                cpp = read_bytes(path)
                code, rows, cols, bank, k = header(cpp)
                w = np.load(path[:-4] + ".npy")
                self.assertEqual(w.shape, (rows, cols))
                ours = bm.csb_serialize(w, bank, k, value_type=bm._type_name(code))
                self.assertEqual(ours, cpp)
                # With the mask given explicitly (the exporter's path) too.
                mask = bank_balanced_mask(torch.from_numpy(w), bank, k).numpy()
                self.assertEqual(bm.csb_serialize(w, bank, k, mask, bm._type_name(code)), cpp)

    def test_header_example_from_the_spec(self):
        data = bm.csb_serialize(np.arange(27, dtype=np.float32).reshape(3, 9) + 1, 4, 2)
        self.assertEqual(len(data), 164)
        self.assertEqual(data[:64].hex(), "894242530d0a1a0a" "01000000" "01000000" "01000000" "00000000"
                         "0300000000000000" "0900000000000000" "04000000" "02000000" "6000000000000000"
                         "0000000000000000")
        self.assertEqual(zlib.crc32(data[:-4]), int.from_bytes(data[-4:], "little"))

    def test_slot_major_order(self):
        # The CSB_FORMAT.md example: row [1 0 2 0 | 0 3 0 4], bank 4, k 2.
        w = np.array([[1, 0, 2, 0, 0, 3, 0, 4]], dtype=np.float32)
        d = bm.csb_deserialize(bm.csb_serialize(w, 4, 2))
        np.testing.assert_array_equal(d["values"], [1, 3, 2, 4])
        np.testing.assert_array_equal(d["indices"], [0, 1, 2, 3])

    def test_round_trip(self):
        rng = np.random.default_rng(5)
        for rows, cols, bank, k, vt in [(4, 10, 4, 3, "float32"), (3, 7, 8, 8, "float32"), (2, 600, 300, 7, "float32"),
                                        (5, 12, 6, 2, "float64"), (3, 9, 4, 2, "fixed16<11>"), (0, 5, 4, 2, "float32"),
                                        (3, 0, 4, 2, "float32"), (3, 8, 4, 0, "float32")]:
            with self.subTest((rows, cols, bank, k, vt)):
                w = rng.standard_normal((rows, cols)).astype(np.float32)
                data = bm.csb_serialize(w, bank, k, value_type=vt)
                d = bm.csb_deserialize(data)
                mask = bank_balanced_mask(torch.from_numpy(w), bank, k).numpy() if rows and cols else np.zeros(w.shape, bool)
                np.testing.assert_array_equal(d["mask"], mask)
                tol = 2.0 ** -12 if vt.startswith("fixed") else 0
                np.testing.assert_allclose(d["dense"], w * mask, atol=tol, rtol=0)
                self.assertEqual(bm.csb_serialize(d["dense"], bank, k, d["mask"], vt), data)

    def test_fixed16_rounding_and_saturation(self):
        q = bm.quantize_fixed16(np.array([0.5, -0.5, 1.5, -1.5, 40000.0, -40000.0, 0.25]), 0)
        np.testing.assert_array_equal(q, [1, -1, 2, -2, 32767, -32768, 0])

    def test_errors(self):
        w = np.ones((2, 8), dtype=np.float32)
        with self.assertRaises(ValueError):
            bm.csb_serialize(w, 4, 2, mask=np.ones((2, 8), bool))  # 4 stored per bank, not 2
        with self.assertRaises(ValueError):
            bm.csb_serialize(w, 4, 5)
        with self.assertRaises(ValueError):
            bm.csb_serialize(w, 70000, 1)
        with self.assertRaises(ValueError):
            bm.csb_serialize(w, 4, 2, value_type="int8")
        data = bytearray(bm.csb_serialize(w, 4, 2))
        data[70] ^= 1
        with self.assertRaisesRegex(ValueError, "checksum"):
            bm.csb_deserialize(bytes(data))


def tiny_cnn():
    torch.manual_seed(0)
    m = torch.nn.Sequential(OrderedDict([
        ("features", torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU6(),
            torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 1), torch.nn.BatchNorm2d(16), torch.nn.ReLU6(), torch.nn.AvgPool2d(2),
            torch.nn.Dropout(0.1))),
        ("gap", torch.nn.AdaptiveAvgPool2d((1, 1))),
        ("flat", torch.nn.Flatten()),
        ("fc", torch.nn.Linear(16, 10)),
    ]))
    with torch.no_grad():
        m.features[6].weight.mul_(bank_balanced_mask(m.features[6].weight, 4, 1).float())
        m.fc.weight.mul_(unstructured_mask(m.fc.weight, 0.75).float())  # not bank-balanced: stored dense
    return m.eval()


class Exporter(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "m.bbsm")

    def tearDown(self):
        self.dir.cleanup()

    def test_cnn_manifest_entries_and_function(self):
        m = tiny_cnn()
        text = bm.export_model(m, self.path, input_shape=(1, 9, 10), bank_configs={"features.6.weight": (4, 1)})
        lines = text.splitlines()
        self.assertEqual(lines, [
            "bbs-model 1",
            "input image channels=1 height=9 width=10",
            "conv2d name=features.0 in=1 out=8 kernel=3 stride=1 padding=1 bank=9 nnz=9",
            "batch_norm2d name=features.1 eps=1e-05",
            "relu6",
            "depthwise_conv2d name=features.3 channels=8 kernel=3 stride=2 padding=1",
            "batch_norm2d name=features.4 eps=1e-05",
            "relu",
            "conv2d name=features.6 in=8 out=16 kernel=1 stride=1 padding=0 bank=4 nnz=1",
            "batch_norm2d name=features.7 eps=1e-05",
            "relu6",
            "avg_pool2d kernel=2 stride=2",
            "global_avg_pool2d",
            "flatten",
            "linear name=fc in=16 out=10 bank=16 nnz=16",
        ])
        with zipfile.ZipFile(self.path) as z:
            names = z.namelist()
            self.assertEqual(names[0], "model.txt")
            self.assertTrue(all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist()))
            self.assertIsNone(z.testzip())
        self.assertIn("features.6.weight.bbs", names)
        self.assertIn("fc.weight.bbs", names)
        self.assertIn("features.3.weight.npy", names)
        self.assertNotIn("features.1.num_batches_tracked.npy", names)
        r = bm.read_model(self.path)
        self.assertEqual(r["csb"]["features.6.weight"]["bank_size"], 4)
        self.assertEqual(r["csb"]["fc.weight"]["nnz_per_bank"], 16)
        self.assertEqual(r["tensors"]["features.3.weight"].shape, (8, 1, 3, 3))
        np.testing.assert_array_equal(r["tensors"]["features.0.weight"], m.features[0].weight.detach().reshape(8, 9))
        x = torch.randn(2, 1, 9, 10)
        with torch.no_grad():
            np.testing.assert_array_equal(bm.build_torch_model(r)(x), m(x))

    def test_deterministic_and_atomic(self):
        m = tiny_cnn()
        bm.export_model(m, self.path, input_shape=(1, 9, 10))
        first = read_bytes(self.path)
        bm.export_model(m, self.path, input_shape=(1, 9, 10))
        self.assertEqual(read_bytes(self.path), first)
        self.assertEqual(os.listdir(self.dir.name), ["m.bbsm"])  # no temporary file left
        with self.assertRaises(bm.UnsupportedModuleError):
            bm.export_model(torch.nn.Sequential(torch.nn.Sigmoid()), self.path)
        self.assertEqual(read_bytes(self.path), first)  # a failed export leaves the old file

    def test_npy_weights(self):
        m = tiny_cnn()
        with torch.no_grad():
            m.fc.weight.mul_(bank_balanced_mask(m.fc.weight, 8, 2).float())
        cfg = {"features.0.weight": (9, 9), "features.6.weight": (4, 1), "fc.weight": (8, 2)}
        text = bm.export_model(m, self.path, input_shape=(1, 9, 10), weights="npy", bank_configs=cfg)
        self.assertIn("linear name=fc in=16 out=10 bank=8 nnz=2", text)
        r = bm.read_model(self.path)
        self.assertEqual(r["csb"], {})
        self.assertEqual(r["tensors"]["features.6.weight"].shape, (16, 8, 1, 1))
        x = torch.randn(2, 1, 9, 10)
        with torch.no_grad():
            np.testing.assert_array_equal(bm.build_torch_model(r)(x), m(x))
        with self.assertRaisesRegex(ValueError, "needs a bank configuration"):
            bm.export_model(m, self.path, input_shape=(1, 9, 10), weights="npy", bank_configs={"fc.weight": (8, 2)})

    def test_lstm(self):
        torch.manual_seed(1)
        m = bm.sequence_classifier(8, 12, 10, num_layers=2)
        cfg = {}
        for name, p in m.named_parameters():
            if name.startswith("rnn.weight"):
                with torch.no_grad():
                    p.mul_(bank_balanced_mask(p, 4, 1).float())
                cfg[name] = (4, 1)
        m.eval()
        text = bm.export_model(m, self.path, bank_configs=cfg)
        self.assertEqual(text.splitlines()[1:], [
            "input sequence features=8",
            "lstm name=rnn input=8 hidden=12 layers=2 bidirectional=0 proj=0 bank=4 nnz=1",
            "last_step",
            "linear name=fc in=12 out=10 bank=12 nnz=12",
        ])
        x = torch.randn(3, 8, 8)
        with torch.no_grad():
            np.testing.assert_array_equal(bm.build_torch_model(self.path)(x), m(x))
        # Without configurations the LSTM's weights (8 and 12 columns) are dense BBS with two
        # bank sizes: the statement has no bank / nnz keys.
        text = bm.export_model(m, self.path)
        self.assertIn("lstm name=rnn input=8 hidden=12 layers=2 bidirectional=0 proj=0\n", text)
        with self.assertRaisesRegex(ValueError, "different bank configurations"):
            bm.export_model(m, self.path, weights="npy", default_bank=None,
                            bank_configs={k: (4, 1) if "_l0" in k else (8, 2) for k in cfg} | {"fc.weight": (12, 12)})

    def test_framewise_lstm(self):
        # A CTC acoustic model's shape: LSTM -> AllSteps -> Linear on every frame.
        torch.manual_seed(2)
        m = torch.nn.Sequential(OrderedDict(rnn=torch.nn.LSTM(6, 10, num_layers=2, batch_first=True),
                                            steps=bm.AllSteps(), fc=torch.nn.Linear(10, 5))).eval()
        text = bm.export_model(m, self.path)
        self.assertEqual([line.split()[0] for line in text.splitlines()[1:]], ["input", "lstm", "linear"])
        x = torch.randn(2, 7, 6)
        with torch.no_grad():
            want = m(x)
            self.assertEqual(tuple(want.shape), (2, 7, 5))
            np.testing.assert_array_equal(bm.build_torch_model(self.path)(x), want)
        # A model that ends in the LSTM returns its frames too.
        text = bm.export_model(torch.nn.Sequential(OrderedDict(rnn=m.rnn)), self.path)
        with torch.no_grad():
            np.testing.assert_array_equal(bm.build_torch_model(self.path)(x), m.rnn(x)[0])

    def test_not_bank_balanced(self):
        m = tiny_cnn()
        with self.assertRaisesRegex(ValueError, "not bank-balanced"):
            bm.export_model(m, self.path, input_shape=(1, 9, 10), bank_configs={"fc.weight": (4, 1)})
        with self.assertRaisesRegex(ValueError, "does not store"):
            bm.export_model(m, self.path, input_shape=(1, 9, 10), bank_configs={"fc.bias": (4, 1)})
        self.assertFalse(os.path.exists(self.path))

    def test_unsupported_modules(self):
        cases = [
            torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3, dilation=2)),
            torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, groups=2)),
            torch.nn.Sequential(torch.nn.Conv2d(4, 8, (3, 1))),
            torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, padding_mode="reflect")),
            torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3), torch.nn.ReLU(), torch.nn.BatchNorm2d(8)),
            torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3), torch.nn.MaxPool2d(2, padding=1)),
            torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3), torch.nn.AdaptiveAvgPool2d(2)),
            torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh()),
            torch.nn.Sequential(torch.nn.Sigmoid()),
            torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3), torch.nn.Flatten(2)),
        ]
        for model in cases:
            with self.subTest(str(model)):
                with self.assertRaises(bm.UnsupportedModuleError):
                    bm.export_model(model, self.path, input_shape=(4, 8, 8))
        with self.assertRaises(bm.UnsupportedModuleError):
            bm.export_model(torch.nn.Linear(3, 3), self.path)  # not a Sequential
        self.assertFalse(os.path.exists(self.path))


class Fixtures(unittest.TestCase):
    """The committed fixtures describe models whose outputs their _io.npz files hold."""

    def test_fixtures(self):
        for name, io_name in [("tiny_cnn", "tiny_cnn"), ("tiny_cnn_dense", "tiny_cnn"), ("tiny_lstm", "tiny_lstm"),
                              ("tiny_gru", "tiny_gru")]:
            with self.subTest(name):
                r = bm.read_model(os.path.join(DATA, name + ".bbsm"))
                data = np.load(os.path.join(DATA, io_name + "_io.npz"))
                with torch.no_grad():
                    out = bm.build_torch_model(r)(torch.from_numpy(data["x"])).numpy()
                np.testing.assert_allclose(out, data["out"], rtol=0, atol=1e-6)
        r = bm.read_model(os.path.join(DATA, "tiny_lstm.bbsm"))
        self.assertEqual(r["statements"][1], ("lstm", {"name": "rnn", "input": "6", "hidden": "10", "layers": "2",
                                                       "bidirectional": "1", "proj": "0", "bank": "4", "nnz": "2"}))
        self.assertEqual(sum(1 for k in r["csb"] if k.startswith("rnn.weight")), 8)


if __name__ == "__main__":
    unittest.main()
