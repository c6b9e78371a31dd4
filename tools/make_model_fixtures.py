#!/usr/bin/python3
"""Fixtures for the bbs model file (docs/MODEL_FORMAT.md): regenerates test/data/models/.

Run by hand with Debian's interpreter (python3-torch, numpy):
    /usr/bin/python3 tools/make_model_fixtures.py [--bbs build/tools/bbs/bbs]
CI never runs it; its outputs are committed (about 40 KB). Deterministic: fixed seeds, fixed ZIP
timestamps, so rerunning it rewrites identical bytes.

Model files (each built from a seeded PyTorch model in eval mode whose matrix weights are already
masked, so the outputs are those of exactly the stored model):

- ``tiny_cnn.bbsm``: input 3 x 13 x 11; conv 3x3 (3 -> 10, padding 1, bias; stored as a dense BBS
  matrix, bank = nnz = 27) -> BN -> ReLU6 -> depthwise 3x3 stride 2 padding 1 (no bias) -> BN ->
  ReLU6 -> pointwise conv 10 -> 12 (BBS bank 4 nnz 3: banks of 4, 4 and a partial 2 that stores a
  padding entry) -> BN -> ReLU6 -> MaxPool2d 2 -> global average pool -> flatten -> Linear 12 -> 5
  (BBS bank 5 nnz 2). BatchNorms have random statistics. ``tiny_cnn_io.npz``: ``x`` (3, 3, 13, 11)
  float32 and ``out`` (3, 5), PyTorch's logits.
- ``tiny_cnn_dense.bbsm``: the same model with its matrix weights dense ``.npy`` and ``bank=`` /
  ``nnz=`` keys (conv 27 / 27, pointwise 4 / 3, linear 5 / 2): the loader prunes them and gets the
  same matrices (the weights are already bank-balanced; pruning a masked weight keeps its
  nonzeros). Same ``tiny_cnn_io.npz``.
- ``tiny_lstm.bbsm``: a 2-layer bidirectional LSTM (input 6, hidden 10; every weight BBS bank 4
  nnz 2, so weight_ih_l0 (6 columns) has a partial bank) -> last_step -> Linear 20 -> 4 (bank 4
  nnz 2). ``tiny_lstm_io.npz``: ``x`` (3, 5, 6) = (N, T, F) and ``out`` (3, 4).
- ``tiny_gru.bbsm``: a 1-layer GRU (input 7, hidden 9; weight_ih BBS bank 4 nnz 1, weight_hh
  bank 3 nnz 1: no common configuration, so the statement has no bank / nnz keys) -> last_step ->
  Linear 9 -> 3 stored dense (bank = nnz = 9). ``tiny_gru_io.npz``: ``x`` (2, 4, 7), ``out`` (2, 3).

CSB files written by the C++ CLI (``csb/``), for the exporter's byte-for-byte test: each
``<case>.npy`` is a float32 source matrix and ``<case>.bbs`` is ``bbs prune <case>.npy
<case>.bbs --bank B --keep K --type T`` (B, K and T are read back from the file's header). They
are regenerated only when ``--bbs`` names the CLI binary.
"""
import argparse
import os
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bbs_model import LastStep, export_model  # noqa: E402
from bbs_pruning import bank_balanced_mask  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data", "models")

# (case, rows, cols, bank, keep, type): the CLI prunes the seeded matrix and writes the file.
CSB_CASES = [
    ("f32_3x9_b4k2", 3, 9, 4, 2, "float32"),          # partial last bank of width 1 < k: padding entry
    ("f32_1x5_b5k3", 1, 5, 5, 3, "float32"),          # odd entry count: value section padding
    ("f32_2x310_b300k5", 2, 310, 300, 5, "float32"),  # 16-bit in-bank indices
    ("f32_ties_4x8_b4k2", 4, 8, 4, 2, "float32"),     # small integers with ties: lower column wins
    ("f64_3x7_b3k1", 3, 7, 3, 1, "float64"),
    ("q12_3x9_b4k3", 3, 9, 4, 3, "fixed16<12>"),
    ("q10_5x16_b8k2", 5, 16, 8, 2, "fixed16<10>"),
]


def seeded(name):
    torch.manual_seed(sum(map(ord, name)))
    np.random.seed(sum(map(ord, name)) % (2 ** 32))


def random_batch_norm(bn):
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_(0.0, 0.2)
        bn.running_mean.normal_(0.0, 0.2)
        bn.running_var.uniform_(0.5, 1.5)


def mask_(param, bank, nnz):
    with torch.no_grad():
        param.mul_(bank_balanced_mask(param, bank, nnz).to(param.dtype))


def tiny_cnn():
    seeded("tiny_cnn")
    features = torch.nn.Sequential(
        torch.nn.Conv2d(3, 10, 3, padding=1),
        torch.nn.BatchNorm2d(10),
        torch.nn.ReLU6(),
        torch.nn.Conv2d(10, 10, 3, stride=2, padding=1, groups=10, bias=False),
        torch.nn.BatchNorm2d(10),
        torch.nn.ReLU6(),
        torch.nn.Conv2d(10, 12, 1),
        torch.nn.BatchNorm2d(12),
        torch.nn.ReLU6(),
        torch.nn.MaxPool2d(2),
    )
    m = torch.nn.Sequential(OrderedDict([
        ("features", features),
        ("pool", torch.nn.AdaptiveAvgPool2d(1)),
        ("flatten", torch.nn.Flatten()),
        ("classifier", torch.nn.Linear(12, 5)),
    ]))
    with torch.no_grad():
        features[0].weight.mul_(2.0)  # larger activations so ReLU6 clips some
    for i in (1, 4, 7):
        random_batch_norm(features[i])
    mask_(features[6].weight, 4, 3)
    mask_(m.classifier.weight, 5, 2)
    m.eval()
    x = torch.randn(3, 3, 13, 11)
    with torch.no_grad():
        out = m(x)
    comment = "tools/make_model_fixtures.py: tiny CNN, conv dense (bank = nnz = 27), pointwise and linear BBS"
    export_model(m, os.path.join(OUT, "tiny_cnn.bbsm"), input_shape=(3, 13, 11),
                 bank_configs={"features.6.weight": (4, 3), "classifier.weight": (5, 2)}, comment=comment)
    export_model(m, os.path.join(OUT, "tiny_cnn_dense.bbsm"), input_shape=(3, 13, 11), weights="npy",
                 bank_configs={"features.0.weight": (27, 27), "features.6.weight": (4, 3),
                                "classifier.weight": (5, 2)},
                 comment="tools/make_model_fixtures.py: tiny_cnn with dense .npy weights pruned at load")
    np.savez(os.path.join(OUT, "tiny_cnn_io.npz"), x=x.numpy(), out=out.numpy())


def tiny_lstm():
    seeded("tiny_lstm")
    m = torch.nn.Sequential(OrderedDict([
        ("rnn", torch.nn.LSTM(6, 10, num_layers=2, bidirectional=True, batch_first=True)),
        ("last", LastStep(batch_first=True)),
        ("fc", torch.nn.Linear(20, 4)),
    ]))
    configs = {}
    for name, p in m.named_parameters():
        if "weight" in name:
            mask_(p, 4, 2)
            configs[name] = (4, 2)
    m.eval()
    x = torch.randn(3, 5, 6)
    with torch.no_grad():
        out = m(x)
    export_model(m, os.path.join(OUT, "tiny_lstm.bbsm"), bank_configs=configs,
                 comment="tools/make_model_fixtures.py: 2-layer bidirectional LSTM, BBS bank 4 nnz 2")
    np.savez(os.path.join(OUT, "tiny_lstm_io.npz"), x=x.numpy(), out=out.numpy())


def tiny_gru():
    seeded("tiny_gru")
    m = torch.nn.Sequential(OrderedDict([
        ("rnn", torch.nn.GRU(7, 9, batch_first=True)),
        ("last", LastStep(batch_first=True)),
        ("fc", torch.nn.Linear(9, 3)),
    ]))
    mask_(m.rnn.weight_ih_l0, 4, 1)
    mask_(m.rnn.weight_hh_l0, 3, 1)
    m.eval()
    x = torch.randn(2, 4, 7)
    with torch.no_grad():
        out = m(x)
    export_model(m, os.path.join(OUT, "tiny_gru.bbsm"),
                 bank_configs={"rnn.weight_ih_l0": (4, 1), "rnn.weight_hh_l0": (3, 1)},
                 comment="tools/make_model_fixtures.py: GRU with two bank configurations, dense linear")
    np.savez(os.path.join(OUT, "tiny_gru_io.npz"), x=x.numpy(), out=out.numpy())


def csb_cases(cli):
    d = os.path.join(OUT, "csb")
    os.makedirs(d, exist_ok=True)
    for case, rows, cols, bank, keep, vtype in CSB_CASES:
        rng = np.random.default_rng(sum(map(ord, case)))
        if "ties" in case:
            w = rng.integers(-3, 4, size=(rows, cols)).astype(np.float32)
        else:
            w = rng.standard_normal((rows, cols)).astype(np.float32)
        src = os.path.join(d, case + ".npy")
        np.save(src, w)
        subprocess.run([cli, "prune", src, os.path.join(d, case + ".bbs"), "--bank", str(bank), "--keep", str(keep),
                        "--type", vtype, "--no-report", "--quiet"], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bbs", help="the bbs CLI binary: also regenerate the CSB files in test/data/models/csb/")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    tiny_cnn()
    tiny_lstm()
    tiny_gru()
    if args.bbs:
        csb_cases(args.bbs)
    for name in sorted(os.listdir(OUT)):
        p = os.path.join(OUT, name)
        if os.path.isfile(p):
            print(f"{name}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
