#!/usr/bin/python3
"""A @ x from Python: bbs against scipy.sparse.csr_matrix @ x and a torch.sparse_csr_tensor
product, on the same n x n float32 matrix (bank-balanced, 87.5 % sparse), side by side in one run.

Prints a markdown table of median microseconds per call (the n = 64 row is, in effect, the
per-call overhead), the speed-ups over SciPy and PyTorch, and bbs's throughput; then the time of
products split over two Python threads against the same products run serially (the GIL is
released inside the kernels). Run with
Debian's interpreter and the package on PYTHONPATH:

    PYTHONPATH=build-py/python /usr/bin/python3 bench/python/bench_matmul.py [--sizes 64 1024 4096 16384]

PyTorch runs on one thread, as SciPy and bbs's default backend do. Debian's python3-torch has no
MKL, so torch's CSR matrix-vector product (addmv) is unavailable: the vector goes in as an
n x 1 matrix (CSR @ dense, torch's own kernel). The methods take turns batch by batch, so load
from other processes hits them alike; the median over batches is reported.
"""

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np

import bbs


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_features():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return ""
    wanted = ["avx2", "avx512f", "avx512_vnni"]
    return " ".join(flag for flag in wanted if flag in flags)


def calls_per_batch(f, target_seconds):
    """Enough calls for a batch to last about target_seconds (timer resolution and loop cost)."""
    f()
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            f()
        elapsed = time.perf_counter() - start
        if elapsed >= target_seconds / 4 or calls >= 1 << 20:
            return max(1, int(calls * target_seconds / max(elapsed, 1e-9)))
        calls *= 4


def median_seconds_per_call(methods, batches, target_seconds):
    """Median over `batches` of the seconds per call of every method, taking turns."""
    counts = {name: calls_per_batch(f, target_seconds) for name, f in methods.items()}
    samples = {name: [] for name in methods}
    for _ in range(batches):
        for name, f in methods.items():
            calls = counts[name]
            start = time.perf_counter()
            for _ in range(calls):
                f()
            samples[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(s) for name, s in samples.items()}


def two_threads_against_serial(A, x, calls, rounds):
    """Seconds for 2 * calls products, serially and split over two Python threads (the GIL is
    released inside the kernel, so two threads can multiply at once on two cores); medians."""
    import threading

    def work():
        for _ in range(calls):
            A @ x

    serial, parallel = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        work()
        serial.append(time.perf_counter() - start)
        threads = [threading.Thread(target=work) for _ in range(2)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        parallel.append(time.perf_counter() - start)
    return statistics.median(serial), statistics.median(parallel)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 1024, 4096, 16384])
    parser.add_argument("--bank", type=int, default=16)
    parser.add_argument("--sparsity", type=float, default=0.875)
    parser.add_argument("--batches", type=int, default=15, help="timed batches per method (median)")
    parser.add_argument("--batch-seconds", type=float, default=0.02)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--threads-n", type=int, default=4096,
                        help="size of the two-thread run (0 skips it)")
    args = parser.parse_args()

    import scipy
    import scipy.sparse  # noqa: F401  (the baseline; imported before timing)

    torch = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(1)
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        except ImportError:
            torch = None

    rng = np.random.default_rng(0)
    rows = []
    for n in args.sizes:
        W = rng.standard_normal((n, n), dtype=np.float32)
        A = bbs.BbsMatrix.prune(W, args.bank, sparsity=args.sparsity)
        del W
        S = A.to_scipy()
        x = rng.standard_normal(n, dtype=np.float32)
        methods = {"bbs": lambda: A @ x, "scipy": lambda: S @ x}
        if torch is not None:
            T = torch.sparse_csr_tensor(
                torch.from_numpy(S.indptr.astype(np.int64)),
                torch.from_numpy(S.indices.astype(np.int64)),
                torch.from_numpy(S.data),
                size=S.shape,
            )
            X = torch.from_numpy(x).unsqueeze(1)
            methods["torch"] = lambda: T @ X
            np.testing.assert_allclose((T @ X).numpy().ravel(), A @ x, rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(S @ x, A @ x, rtol=1e-3, atol=1e-3)
        seconds = median_seconds_per_call(methods, args.batches, args.batch_seconds)
        rows.append((n, A.nnz, seconds))

    print(f"CPU: {cpu_name()} ({cpu_features()}), {len(os.sched_getaffinity(0))} CPUs available, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"bbs {bbs.__version__}, backend {bbs.get_backend()}; NumPy {np.__version__}; SciPy {scipy.__version__}"
          + (f"; PyTorch {torch.__version__} (1 thread)" if torch else ""))
    print(f"float32, bank {args.bank}, sparsity {args.sparsity}; median of {args.batches} batches, microseconds per call")
    print()
    header = "| n | nnz | bbs `A @ x` (µs) | SciPy CSR (µs) |"
    rule = "|---:|---:|---:|---:|"
    if torch is not None:
        header += " torch CSR (µs) |"
        rule += "---:|"
    header += " bbs vs SciPy | "
    rule += "---:|"
    if torch is not None:
        header += "bbs vs torch | "
        rule += "---:|"
    header += "bbs GFLOP/s |"
    rule += "---:|"
    print(header)
    print(rule)
    for n, nnz, s in rows:
        line = f"| {n} | {nnz} | {s['bbs'] * 1e6:.2f} | {s['scipy'] * 1e6:.2f} |"
        if torch is not None:
            line += f" {s['torch'] * 1e6:.2f} |"
        line += f" {s['scipy'] / s['bbs']:.1f}x |"
        if torch is not None:
            line += f" {s['torch'] / s['bbs']:.1f}x |"
        line += f" {2 * nnz / s['bbs'] / 1e9:.2f} |"
        print(line)

    if args.threads_n > 0:
        n = args.threads_n
        A = bbs.BbsMatrix.prune(rng.standard_normal((n, n), dtype=np.float32), args.bank, sparsity=args.sparsity)
        x = rng.standard_normal(n, dtype=np.float32)
        calls = calls_per_batch(lambda: A @ x, 0.1)
        serial, parallel = two_threads_against_serial(A, x, calls, rounds=5)
        print()
        print(f"Two Python threads, {calls} products of n = {n} each: {serial * 1e3:.1f} ms serially, "
              f"{parallel * 1e3:.1f} ms in two threads ({serial / parallel:.2f}x; 2.0x is the ideal on two idle cores)")


if __name__ == "__main__":
    main()
