#!/usr/bin/python3
"""Golden outputs from PyTorch for bbs's layers (test/nn/): regenerates test/data/nn/.

Run by hand with Debian's interpreter, which has python3-torch and numpy:
    /usr/bin/python3 tools/make_nn_fixtures.py
CI never runs it; the .npy files it writes are committed (a few hundred KB).

Every case is a seeded PyTorch module in eval mode, its weights, inputs and outputs. Every array
is written 2-D float32 (the tests read them with bbs::read_npy(path).matrix<float>(), which
takes 1-D and 2-D arrays): vectors as 1 x n, convolution weights
as out_channels x (in_channels / groups * k * k) (PyTorch's flattening, which bbs uses), other
3-D and 4-D tensors flattened to (product of the leading dimensions) x (last dimension), C
order, so an NCHW tensor reads back as NCHW memory and a (T, B, F) sequence as bbs's
features x (T * B) column-major matrix transposed.

lstm_proj also has state_dict.npz: its state_dict under the prefix "lstm." as
tools/export_state_dict.py writes it, for bbs::nn::StateDict.

Pruned cases: the bank-balanced mask is computed here in numpy (mask_bank_balanced, written
independently of bbs::prune: per row, per bank of consecutive columns, keep the k entries of
largest magnitude) and PyTorch runs with the masked (dense-with-zeros) weights. The unmasked
weights are written, so the C++ test prunes them with bbs::prune and compares against PyTorch.
"""
import os

import numpy as np
import torch

from export_state_dict import export  # tools/export_state_dict.py, beside this file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data", "nn")


def save(case, name, array):
    a = np.asarray(array.detach().numpy() if torch.is_tensor(array) else array, dtype=np.float32)
    if name.endswith("weight") and a.ndim == 4:
        a = a.reshape(a.shape[0], -1)  # a convolution weight: out_channels x (in * k * k)
    elif a.ndim == 0:
        a = a.reshape(1, 1)
    elif a.ndim == 1:
        a = a.reshape(1, -1)
    elif a.ndim > 2:
        a = a.reshape(-1, a.shape[-1])
    d = os.path.join(OUT, case)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, name + ".npy"), np.ascontiguousarray(a))


def mask_bank_balanced(w, bank_size, k):
    """0/1 mask keeping, in every bank of bank_size consecutive columns of every row, the k
    entries of largest magnitude (all of a last bank narrower than k)."""
    w = np.asarray(w, dtype=np.float64)
    rows, cols = w.shape
    mask = np.zeros_like(w)
    for r in range(rows):
        for first in range(0, cols, bank_size):
            bank = np.abs(w[r, first:first + bank_size])
            keep = np.argsort(-bank, kind="stable")[:k]
            mask[r, first + keep] = 1.0
    return mask


def recurrent_case(case, kind, input_size, hidden, layers, bidirectional, frames, batch, proj=0, bank=None,
                   state_dict_prefix=None):
    torch.manual_seed(sum(map(ord, case)))
    if kind == "lstm":
        m = torch.nn.LSTM(input_size, hidden, num_layers=layers, bidirectional=bidirectional, proj_size=proj)
    else:
        m = torch.nn.GRU(input_size, hidden, num_layers=layers, bidirectional=bidirectional)
    m.eval()
    if state_dict_prefix is not None:
        os.makedirs(os.path.join(OUT, case), exist_ok=True)
        # The module's state_dict as a model holding it under that name would export it.
        export({state_dict_prefix + k: v for k, v in m.state_dict().items()}, os.path.join(OUT, case, "state_dict.npz"))
    for name, p in m.named_parameters():
        save(case, name, p)  # unmasked: bbs prunes them itself
        if bank is not None and name.startswith("weight"):
            with torch.no_grad():
                p.mul_(torch.from_numpy(mask_bank_balanced(p.numpy(), *bank)).float())
    directions = 2 if bidirectional else 1
    out_size = proj if proj else hidden
    x = torch.randn(frames, batch, input_size)
    h0 = 0.5 * torch.randn(layers * directions, batch, out_size)
    save(case, "input", x)
    save(case, "h0", h0)
    with torch.no_grad():
        if kind == "lstm":
            c0 = 0.5 * torch.randn(layers * directions, batch, hidden)
            save(case, "c0", c0)
            y, (hn, cn) = m(x, (h0, c0))
            save(case, "c_n", cn)
        else:
            y, hn = m(x, h0)
    save(case, "output", y)
    save(case, "h_n", hn)


def random_batch_norm(channels):
    bn = torch.nn.BatchNorm2d(channels)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_(0.0, 0.1)
        bn.running_mean.normal_(0.0, 0.1)
        bn.running_var.uniform_(0.5, 1.5)
    return bn.eval()


def save_batch_norm(case, prefix, bn):
    save(case, prefix + "_gamma", bn.weight)
    save(case, prefix + "_beta", bn.bias)
    save(case, prefix + "_mean", bn.running_mean)
    save(case, prefix + "_var", bn.running_var)


def folded_weight(conv, bn):
    """The convolution's weight with the BatchNorm scale folded in, as bbs folds it."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return (conv.weight * scale.reshape(-1, 1, 1, 1)).detach().numpy().reshape(conv.weight.shape[0], -1)


def conv_cases():
    case = "conv"
    torch.manual_seed(5)
    x = torch.randn(2, 8, 9, 9)
    save(case, "input", x)
    with torch.no_grad():
        # Depthwise-separable block: dw 3x3 + BN + ReLU6, pw 1x1 (pruned, bank 4, k 2) + BN +
        # ReLU6, MaxPool 2x2.
        dw = torch.nn.Conv2d(8, 8, 3, stride=1, padding=1, groups=8, bias=False).eval()
        dw_bn = random_batch_norm(8)
        pw = torch.nn.Conv2d(8, 16, 1, bias=False).eval()
        pw_bn = random_batch_norm(16)
        save(case, "dw_weight", dw.weight)
        save_batch_norm(case, "dw_bn", dw_bn)
        save(case, "pw_weight", pw.weight)
        save_batch_norm(case, "pw_bn", pw_bn)
        pw.weight.mul_(torch.from_numpy(mask_bank_balanced(folded_weight(pw, pw_bn), 4, 2)).float().reshape(16, 8, 1, 1))
        dw_out = torch.nn.functional.relu6(dw_bn(dw(x)))
        pw_out = torch.nn.functional.relu6(pw_bn(pw(dw_out)))
        save(case, "dw_out", dw_out)
        save(case, "pw_out", pw_out)
        save(case, "maxpool_out", torch.nn.functional.max_pool2d(pw_out, 2))
        save(case, "avgpool_out", torch.nn.functional.avg_pool2d(pw_out, 2))
        save(case, "avgpool3s2_out", torch.nn.functional.avg_pool2d(x, 3, stride=2))
        gap = torch.nn.functional.adaptive_avg_pool2d(pw_out, 1)
        save(case, "gap_out", gap)

        # Depthwise with bias, stride 2, padding 1; and stride 3, padding 2, no bias.
        dw2 = torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=True).eval()
        save(case, "dw_s2_weight", dw2.weight)
        save(case, "dw_s2_bias", dw2.bias)
        save(case, "dw_s2_out", dw2(x))
        dw3 = torch.nn.Conv2d(8, 8, 3, stride=3, padding=2, groups=8, bias=False).eval()
        save(case, "dw_s3p2_weight", dw3.weight)
        save(case, "dw_s3p2_out", dw3(x))

        # Standard 3x3 convolution, stride 2, padding 1, bias, BatchNorm folded, ReLU: dense
        # weights (bbs uses nnz_per_bank = bank_size), to float precision.
        conv = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=True).eval()
        conv_bn = random_batch_norm(16)
        save(case, "conv3_weight", conv.weight)
        save(case, "conv3_bias", conv.bias)
        save_batch_norm(case, "conv3_bn", conv_bn)
        save(case, "conv3_out", torch.relu(conv_bn(conv(x))))

        # Linear 16 -> 10 with pruned weights (bank 8, k 2) on the global average pool.
        lin = torch.nn.Linear(16, 10).eval()
        save(case, "linear_weight", lin.weight)
        save(case, "linear_bias", lin.bias)
        lin.weight.mul_(torch.from_numpy(mask_bank_balanced(lin.weight.numpy(), 8, 2)).float())
        save(case, "linear_out", lin(gap.reshape(2, 16)))


def main():
    torch.set_num_threads(1)
    recurrent_case("lstm_dense", "lstm", 6, 8, 2, True, 5, 3)
    recurrent_case("lstm_proj", "lstm", 6, 8, 2, False, 4, 2, proj=5, state_dict_prefix="lstm.")
    recurrent_case("lstm_pruned", "lstm", 16, 16, 2, True, 6, 2, bank=(8, 2))
    recurrent_case("lstm_pruned_proj", "lstm", 16, 16, 1, False, 5, 1, proj=8, bank=(8, 2))
    recurrent_case("gru_dense", "gru", 6, 8, 2, True, 5, 3)
    recurrent_case("gru_pruned", "gru", 16, 16, 2, False, 6, 2, bank=(8, 2))
    conv_cases()


if __name__ == "__main__":
    main()
