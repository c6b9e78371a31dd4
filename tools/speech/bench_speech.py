#!/usr/bin/python3
"""Per-step latency of streaming recognition, bbs against PyTorch, measured side by side
(issue 16's benchmark; docs/SPEECH.md).

  scripts/bench-speech [--bench build/bench/bench_speech] [--rounds 3] [--json OUT.json]

Each round runs bench/bench_speech (Google Benchmark: the shipped dense and BBS recognizers
stepped by nn::Stream at batch 1, float32 and fixed16<10>, every CPU backend) and then PyTorch
stepping the dense model (models/speech_dense.bbsm rebuilt by bbs_model.build_torch_model: its
LSTM called on one step with the state carried, then its linear layer; batch 1, one thread,
torch.no_grad, eval mode). Rounds alternate so that both see the same machine load; the table
gives the median over rounds of each side's median step time, the real-time factor (step time
over the 40 ms a step covers), and the ratios to PyTorch dense and to bbs dense of the same type
and backend."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "python"))
sys.path.insert(0, HERE)
import features  # noqa: E402
STEP_SECONDS = 0.04


def torch_step_seconds(model_path, steps=2000, repeats=5):
    """Median over `repeats` of the mean time of one step over `steps` steps."""
    import torch
    import bbs_model
    torch.set_num_threads(1)
    model = bbs_model.build_torch_model(model_path).eval()
    rnn = next(m for m in model if isinstance(m, torch.nn.LSTM))
    fc = next(m for m in model if isinstance(m, torch.nn.Linear))
    stacked = features.stack(np.load(os.path.join(ROOT, "test", "data", "speech", "sample", "test",
                                                "test_00000.logmel.npy")), rnn.input_size // features.BANDS)
    rows = stacked.shape[0]
    xs = [torch.from_numpy(stacked[i].copy()).view(1, 1, -1) for i in range(rows)]
    times = []
    with torch.no_grad():
        for _ in range(repeats):
            state = None
            start = time.perf_counter()
            for s in range(steps):
                y, state = rnn(xs[s % rows], state)
                fc(y)
            times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def bbs_step_seconds(bench):
    out = subprocess.run([bench, "--benchmark_filter=speech_step", "--benchmark_format=json",
                          "--benchmark_min_time=0.3"], check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    return {b["name"]: b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3}[b["time_unit"]]
            for b in data["benchmarks"]}, data["context"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=os.path.join(ROOT, "build", "bench", "bench_speech"))
    p.add_argument("--model", default=os.path.join(ROOT, "models", "speech_dense.bbsm"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json")
    a = p.parse_args(argv)
    runs, torch_times, context = {}, [], None
    for r in range(a.rounds):
        times, context = bbs_step_seconds(a.bench)
        for name, t in times.items():
            runs.setdefault(name, []).append(t)
        torch_times.append(torch_step_seconds(a.model))
        print(f"round {r + 1}/{a.rounds}: PyTorch dense {1e6 * torch_times[-1]:.1f} us per step", file=sys.stderr)
    torch_s = statistics.median(torch_times)
    med = {n: statistics.median(t) for n, t in runs.items()}
    cpu = open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip()
    print(f"Per-step latency at batch 1, one thread ({cpu}, {context.get('num_cpus')} CPUs; median of "
          f"{a.rounds} rounds). One step = 40 ms of audio.\n")
    print("| model | type | backend | step (us) | real-time factor | vs PyTorch dense | vs bbs dense, same type | "
          "vs bbs dense float32 |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| dense | float32 | PyTorch {__import__('torch').__version__} | {1e6 * torch_s:.1f} | "
          f"{torch_s / STEP_SECONDS:.4f} | 1.00x | | |")
    backends = {"simd": 0, "openmp": 1, "reference": 2}
    rows = []
    for name, t in med.items():
        parts = dict(kv.split(":", 1) for kv in name.split("/")[1:])
        dense = med.get(name.replace("model:bbs", "model:dense"))
        dense_float = med.get(f"speech_step/model:dense/type:float32/backend:{parts['backend']}")
        rows.append({"name": name, **parts, "seconds": t, "vs_torch": torch_s / t,
                     "vs_dense": dense / t if dense else None, "vs_dense_float32": dense_float / t if dense_float else None})
    rows.sort(key=lambda r: (backends.get(r["backend"], 9), r["model"] != "dense", r["type"] != "float32"))
    for r in rows:
        ratio = lambda v: f"{v:.2f}x" if v else ""  # noqa: E731
        print(f"| {r['model']} | {r['type']} | bbs {r['backend']} | {1e6 * r['seconds']:.1f} | "
              f"{r['seconds'] / STEP_SECONDS:.4f} | {ratio(r['vs_torch'])} | {ratio(r['vs_dense'])} | "
              f"{ratio(r['vs_dense_float32'])} |")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"cpu": cpu, "rounds": a.rounds, "torch_seconds": torch_s, "bbs": rows,
                       "all_torch": torch_times, "all_bbs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
