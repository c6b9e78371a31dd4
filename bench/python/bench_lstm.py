#!/usr/bin/python3
"""A PyTorch LSTM step at batch 1: the original nn.LSTM against the same layer after
bbs.torch.convert (bank-balanced, 87.5 % sparse by default), side by side in one run.

One step is one frame of one utterance (T = 1, batch 1) carrying the state (h, c) from the
previous call, what a streaming recognizer runs per frame. Both run on one thread: PyTorch with
torch.set_num_threads(1), bbs on its single-threaded simd backend. The two take turns batch by
batch and the median over batches is reported, with the converted step's error against the
original (dense) and against PyTorch run on the same pruned weights (masked). Run with Debian's
interpreter and the package on PYTHONPATH:

    PYTHONPATH=build/python /usr/bin/python3 bench/python/bench_lstm.py [--hidden 256 1024]
"""

import argparse
import os

import torch
from torch import nn

import bbs
import bbs.torch as bt
from bench_matmul import cpu_features, cpu_name, median_seconds_per_call


def masked_copy(lstm, fast):
    """lstm with the weights bbs kept (the converted model's pruning), for the error column."""
    m = nn.LSTM(lstm.input_size, lstm.hidden_size, num_layers=lstm.num_layers)
    m.load_state_dict(lstm.state_dict())
    with torch.no_grad():
        for entry in fast.bbs_conversion.matrices:
            w = getattr(m, entry.tensor)
            pruned = bbs.BbsMatrix.prune(w.detach().numpy(), entry.bank_size, keep=entry.keep, dtype="float32")
            w.copy_(torch.from_numpy(pruned.to_dense()))
    return m.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--bank", type=int, default=16)
    parser.add_argument("--sparsity", type=float, default=0.875)
    parser.add_argument("--batches", type=int, default=15, help="timed batches per method (median)")
    parser.add_argument("--batch-seconds", type=float, default=0.05)
    args = parser.parse_args()

    torch.set_num_threads(1)
    bbs.set_backend("simd")
    print(f"CPU: {cpu_name()} ({cpu_features()}), {len(os.sched_getaffinity(0))} CPUs available, one thread used")
    print(f"bbs {bbs.__version__}, backend {bbs.get_backend()}; PyTorch {torch.__version__}")
    print(f"nn.LSTM(H, H, num_layers={args.layers}), float32, batch 1, one step per call; bbs: bank {args.bank}, "
          f"sparsity {args.sparsity}; median of {args.batches} batches")
    print()
    print("| H | nn.LSTM (us) | bbs.torch (us) | speed-up | max error vs masked PyTorch | retained magnitude |")
    print("|---|---|---|---|---|---|")
    for hidden in args.hidden:
        torch.manual_seed(hidden)
        lstm = nn.LSTM(hidden, hidden, num_layers=args.layers).eval()
        fast = bt.convert(lstm, bank_size=args.bank, sparsity=args.sparsity)
        x = torch.randn(1, 1, hidden)
        state = {"dense": None, "bbs": None}

        def dense_step():
            _, state["dense"] = lstm(x, state["dense"])

        def bbs_step():
            _, state["bbs"] = fast(x, state["bbs"])

        with torch.inference_mode():
            times = median_seconds_per_call({"dense": dense_step, "bbs": bbs_step}, args.batches, args.batch_seconds)
            seq = torch.randn(20, 1, hidden)
            error = (fast(seq)[0] - masked_copy(lstm, fast)(seq)[0]).abs().max().item()
        print(f"| {hidden} | {times['dense'] * 1e6:.1f} | {times['bbs'] * 1e6:.1f} | "
              f"{times['dense'] / times['bbs']:.2f}x | {error:.1e} | "
              f"{fast.bbs_conversion.retained_magnitude:.3f} |", flush=True)


if __name__ == "__main__":
    main()
