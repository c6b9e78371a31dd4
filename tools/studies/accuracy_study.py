#!/usr/bin/python3
"""Accuracy study: bank-balanced sparsity (BBS) against unstructured and block pruning, in PyTorch
and in bbs's C++ inference (float32 and 16-bit fixed point).

Run with Debian's interpreter (python3-torch, numpy, scikit-learn, matplotlib):

    /usr/bin/python3 tools/studies/accuracy_study.py                 # full study, all phases (hours, 1 thread)
    /usr/bin/python3 tools/studies/accuracy_study.py --smoke         # CI: same pipeline, tiny (< 2 min)
    /usr/bin/python3 tools/studies/accuracy_study.py --phase train   # or eval, or report, one at a time

Phases (each reads what the previous one left in --work, default build-study/ or
build-study-smoke/):

1. ``train``: per task and seed, trains a dense model, then for every (method, sparsity) fine-tunes
   a copy of that seed's dense model with ``GradualPruner`` (python/bbs/pruning.py): the
   cubic schedule from 0 to the target sparsity over the first ``prune_epochs``, then fine-tuning
   at the final masks. Training runs in epochs with early stopping on a validation split (never
   the test set): the best validation epoch is kept, and training stops after ``patience``
   epochs without improvement or at the budget, the same for every method. Runs go in the
   order of ``run_plan``: dense models, every method at 87.5 % with every seed, then the other
   sparsities; finished runs are kept, so an interrupted study resumes. Each model is
   exported with ``bbs_model.export_model`` (``<run>/model.bbsm``), its PyTorch test logits saved
   (``torch_logits.npy``), and the task's test set written in the format of ``bbs eval``
   (``<task>/test.npz``).
2. ``check``: re-reads every model file with ``bbs_model.build_torch_model`` and compares its
   logits with the trained model's (catches an export that is not the trained function).
3. ``eval``: runs ``bbs eval MODEL.bbsm TEST.npz --type float32`` and ``--type fixed16<F>`` (the
   CLI from ``--bbs``, default build-s/tools/bbs/bbs) with ``--json`` and ``--outputs``, and
   compares the C++ predictions with PyTorch's. Runs already evaluated are skipped.
4. ``report``: docs/accuracy.json, docs/ACCURACY.md and docs/accuracy.png (smoke mode: in the
   work directory instead).
5. ``ship`` (only when asked for, not part of ``all``): copies each task's dense model and its
   best BBS model at 87.5 % to models/ and writes models/README.md.

Tasks:

- ``digits``: an LSTM sequence classifier on scikit-learn's digits (8 x 8 images; the 8 rows are
  8 time steps of 8 features, pixel / 16), hidden 64, last step -> Linear 10. Split 70 / 30,
  stratified, seed 0 (540 test), and 15 % of the training part for validation (1068 train,
  189 validation). Pruned: weight_ih_l0, weight_hh_l0 and the Linear.
- ``fashion``: a depthwise-separable CNN on Fashion-MNIST: conv 3x3 1 -> 64 stride 2 -> BN ->
  ReLU6, then two blocks depthwise 3x3 -> BN -> ReLU6 -> pointwise 1x1 -> BN -> ReLU6 -> MaxPool 2
  (64 -> 128, 128 -> 128), global average pool, Linear 128 -> 10. Pruned: the two pointwise
  convolutions and the Linear; the first convolution (9 weights per filter) and the depthwise
  filters stay dense. Inputs are uint8 normalised as x * x_scale + x_offset
  (mean 0.2860, std 0.3530). 30000 training and 5000 validation images, disjoint subsets of the
  60000 training images; the 10000 t10k images are the test set.

Methods: ``dense``; ``unstructured`` (per matrix, global magnitude); ``bbs<bank>`` (bank size;
nnz_per_bank = BankConfig::from_sparsity's rounding); ``block4``, ``block8`` (4 x 4 and 8 x 8
tiles). Each task's CONFIG names the methods it runs (digits: banks 4 and 8, no wider than its
narrowest matrix). BBS models are stored as ``.bbs`` with their bank configuration; other pruned
models as dense BBS matrices (bank = nnz = columns) that hold their zeros, which computes the
same function.
"""
from __future__ import annotations

import argparse
import copy
import gzip
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "python"))  # tools/python
from bbs_model import export_model, sequence_classifier  # noqa: E402
from bbs_pruning import GradualPruner, bank_config_from_sparsity, prunable_parameters  # noqa: E402

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
SPARSITIES = (0.5, 0.75, 0.875, 0.9375)
METHODS = ("unstructured", "bbs4", "bbs8", "bbs16", "bbs32", "bbs64", "block4", "block8")
MACHINE = "AMD EPYC (Zen 5), 2 cores, one PyTorch thread"
TARGET = 0.875  # the paper's sparsity: every method runs there with all seeds

# Per mode and task: data, model and training budget. Training runs in epochs of the training
# split with early stopping on the validation split: after every epoch (pruned models: once the
# masks are final) the validation accuracy is measured, the best epoch's weights are kept, and
# training stops after `patience` epochs without improvement or at the epoch budget. The learning
# rate follows a cosine from lr to lr / 100 over the whole budget. Every pruned model gets the
# same budget (ft_epochs, of which prune_epochs ramp the sparsity up).
CONFIG = {
    "full": {
        "digits": dict(hidden=64, batch=64, val=0.15, dense_epochs=200, ft_epochs=150, prune_epochs=50,
                       patience=25, lr=5e-3, ft_lr=3e-3, seeds=3, seeds_elsewhere=1,
                       methods=("unstructured", "bbs4", "bbs8", "block4")),
        "fashion": dict(train=30000, val=5000, test=None, batch=128, dense_epochs=20, ft_epochs=24, prune_epochs=3,
                        patience=4, lr=3e-3, ft_lr=1e-3, seeds=3, seeds_elsewhere=1,
                        methods=("unstructured", "bbs16", "bbs8", "block4")),
    },
    "smoke": {
        "digits": dict(hidden=32, batch=64, val=0.15, dense_epochs=8, ft_epochs=3, prune_epochs=1, patience=2,
                       lr=3e-3, ft_lr=1e-3, seeds=1, seeds_elsewhere=1, methods=("unstructured", "bbs8", "block4")),
        "fashion": dict(train=1024, val=256, test=300, batch=64, dense_epochs=1, ft_epochs=1, prune_epochs=1,
                        patience=1, lr=3e-3, ft_lr=1e-3, seeds=1, seeds_elsewhere=1,
                        methods=("unstructured", "bbs16", "block4")),
    },
}
SMOKE_SPARSITIES = (0.875,)


# ---------------------------------------------------------------------------------------------
# Data (shared with tools/studies/demo_data.py).


def digits_split(val=0.0):
    """scikit-learn's digits as sequences: x (N, 8, 8) float32 = pixel / 16 (rows = time steps),
    y int64; a stratified 70 / 30 train / test split with seed 0, then `val` of the training part
    split off (stratified, seed 1) for validation. Returns (x_train, y_train, x_test, y_test), or
    with val > 0 (x_train, y_train, x_val, y_val, x_test, y_test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    if not val:
        return x_tr, y_tr, x_te, y_te
    x_tr, x_va, y_tr, y_va = train_test_split(x_tr, y_tr, test_size=val, random_state=1, stratify=y_tr)
    return x_tr, y_tr, x_va, y_va, x_te, y_te


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    dims = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion(split):
    """Fashion-MNIST 'train' or 't10k': (uint8 images N x 28 x 28, int64 labels)."""
    x = _read_idx(os.path.join(FASHION_DIR, f"{split}-images-idx3-ubyte.gz"))
    y = _read_idx(os.path.join(FASHION_DIR, f"{split}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y


def fashion_scale():
    """(x_scale, x_offset) as float32: x_float = x * x_scale + x_offset = (x / 255 - mean) / std."""
    return np.float32(1.0 / (255.0 * FASHION_STD)), np.float32(-FASHION_MEAN / FASHION_STD)


def normalise(x, x_scale=None, x_offset=None):
    """The float input of a data file's x as bbs eval computes it: x * x_scale + x_offset in
    double, rounded to float32."""
    x = np.asarray(x)
    if x_scale is None:
        return x.astype(np.float32)
    return (x.astype(np.float64) * float(x_scale) + float(x_offset)).astype(np.float32)


def write_eval_npz(path, x, y, x_scale=None, x_offset=None):
    """A data file for ``bbs eval``: x, y (int64) and the optional scalars x_scale, x_offset."""
    arrays = {"x": np.ascontiguousarray(x), "y": np.asarray(y, dtype=np.int64)}
    if x_scale is not None:
        arrays["x_scale"] = np.array(x_scale, dtype=np.float32)
        arrays["x_offset"] = np.array(x_offset, dtype=np.float32)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Models.


class DepthwiseConv2d(torch.nn.Conv2d):
    """A depthwise Conv2d (groups = channels) computed as a sum of k * k shifted products: the
    same function and state_dict as torch.nn.Conv2d, and several times faster to train on one
    CPU thread than PyTorch's depthwise kernel. Exported as a Conv2d."""

    def __init__(self, channels, kernel, stride=1, padding=0, bias=False):
        super().__init__(channels, channels, kernel, stride=stride, padding=padding, groups=channels, bias=bias)

    def forward(self, x):
        if not torch.is_grad_enabled():  # inference: PyTorch's kernel is fast enough without gradients
            return super().forward(x)
        k, s, p = self.kernel_size[0], self.stride[0], self.padding[0]
        xp = F.pad(x, (p, p, p, p))
        h = (x.shape[2] + 2 * p - k) // s + 1
        w = (x.shape[3] + 2 * p - k) // s + 1
        out = None
        for i in range(k):
            for j in range(k):
                term = xp[:, :, i:i + s * (h - 1) + 1:s, j:j + s * (w - 1) + 1:s] * self.weight[:, 0, i, j].view(1, -1, 1, 1)
                out = term if out is None else out + term
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1)
        return out


def fashion_cnn(channels=(64, 128, 128)):
    c0, c1, c2 = channels
    layers = [torch.nn.Conv2d(1, c0, 3, stride=2, padding=1, bias=False), torch.nn.BatchNorm2d(c0), torch.nn.ReLU6()]
    for cin, cout in ((c0, c1), (c1, c2)):
        layers += [DepthwiseConv2d(cin, 3, padding=1), torch.nn.BatchNorm2d(cin), torch.nn.ReLU6(),
                   torch.nn.Conv2d(cin, cout, 1, bias=False), torch.nn.BatchNorm2d(cout), torch.nn.ReLU6(),
                   torch.nn.MaxPool2d(2)]
    return torch.nn.Sequential(OrderedDict([
        ("features", torch.nn.Sequential(*layers)),
        ("pool", torch.nn.AdaptiveAvgPool2d(1)),
        ("flatten", torch.nn.Flatten()),
        ("classifier", torch.nn.Linear(c2, 10)),
    ]))


def pruned_parameters(task, model):
    """The (name, parameter) pairs the study prunes: every matrix of prunable_parameters except
    the first convolution (1 input channel x 3 x 3: 9 weights per filter)."""
    return [(n, p) for n, p in prunable_parameters(model) if n != "features.0.weight"]


class Task:
    """A task's data, model and input description."""

    def __init__(self, name, cfg, work):
        self.name, self.cfg = name, cfg
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.test_path = os.path.join(self.dir, "test.npz")
        if name == "digits":
            x_tr, y_tr, x_va, y_va, x_te, y_te = digits_split(cfg["val"])
            self.scale = (None, None)
            self.x_train, self.y_train = x_tr, y_tr
            self.x_val, self.y_val = x_va, y_va
            self.x_test_raw, self.y_test = x_te, y_te
            self.input_shape = None
        else:
            x_tr, y_tr = fashion("train")
            x_te, y_te = fashion("t10k")
            # Training and validation: disjoint subsets of the 60000 training images (the test
            # set is never used for any choice).
            order = np.random.default_rng(0).permutation(len(x_tr))
            keep = np.sort(order[:cfg["train"]])
            val = np.sort(order[cfg["train"]:cfg["train"] + cfg["val"]])
            self.scale = fashion_scale()
            self.x_train = normalise(x_tr[keep], *self.scale)[:, None]
            self.y_train = y_tr[keep]
            self.x_val = normalise(x_tr[val], *self.scale)[:, None]
            self.y_val = y_tr[val]
            if cfg["test"] is not None:
                x_te, y_te = x_te[:cfg["test"]], y_te[:cfg["test"]]
            self.x_test_raw, self.y_test = x_te, y_te
            self.input_shape = (1, 28, 28)
        x_test = normalise(self.x_test_raw, *self.scale)
        self.x_test = x_test if name == "digits" else x_test[:, None]

    def model(self):
        if self.name == "digits":
            return sequence_classifier(8, self.cfg["hidden"], 10)
        return fashion_cnn()

    def write_test_file(self):
        write_eval_npz(self.test_path, self.x_test_raw, self.y_test, *self.scale)


# ---------------------------------------------------------------------------------------------
# Training.


def batches(n, batch, steps, seed):
    """`steps` index batches drawn by epochs of a seeded permutation."""
    rng = np.random.default_rng(seed)
    order = np.zeros(0, dtype=np.int64)
    for _ in range(steps):
        if len(order) < batch:
            order = np.concatenate([order, rng.permutation(n)])
        yield order[:batch]
        order = order[batch:]


def steps_per_epoch(task):
    return -(-len(task.y_train) // task.cfg["batch"])


def train(model, task, epochs, lr, seed, pruner=None, select_from=1):
    """Adam for at most `epochs` epochs with a cosine learning rate from lr to lr / 100 over the
    whole budget; pruner.step() after every optimizer step. From epoch `select_from` on (1-based;
    pruned models: the first epoch with final masks) the validation accuracy is measured after
    every epoch; the best epoch's weights are restored at the end, and training stops after
    cfg["patience"] epochs without improvement. Returns the model and {epochs, best_epoch,
    val_accuracy}."""
    torch.manual_seed(seed)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    per_epoch = steps_per_epoch(task)
    steps = epochs * per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    x, y = torch.from_numpy(task.x_train), torch.from_numpy(task.y_train)
    best, best_acc, best_epoch, since_best, epoch = None, -1.0, 0, 0, 0
    for step, idx in enumerate(batches(len(x), task.cfg["batch"], steps, seed), 1):
        idx = torch.from_numpy(idx)
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        if task.name == "digits":
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        if pruner is not None:
            pruner.step()
        if step % per_epoch:
            continue
        epoch = step // per_epoch
        if epoch < select_from:
            continue
        acc = accuracy(model, task.x_val, task.y_val)
        model.train()
        if acc > best_acc:
            best, best_acc, best_epoch, since_best = copy.deepcopy(model.state_dict()), acc, epoch, 0
        else:
            since_best += 1
            if since_best >= task.cfg["patience"]:
                break
    if best is not None:
        model.load_state_dict(best)
    model.eval()
    return model, {"epochs": epoch, "best_epoch": best_epoch, "val_accuracy": best_acc}


def accuracy(model, x, y):
    return float((logits(model, x).argmax(1) == y).mean())


@torch.no_grad()
def logits(model, x, batch=1000):
    model.eval()
    return torch.cat([model(torch.from_numpy(x[i:i + batch])) for i in range(0, len(x), batch)]).numpy()


@torch.no_grad()
def max_activation(model, x):
    """The largest |value| any layer outputs (LSTM: its output and final cell state) on x, and
    the largest |weight| after BatchNorm folding: what fixed16<F> must represent."""
    largest = [0.0]
    hooks = []

    def hook(_, __, out):
        for t in (out if isinstance(out, tuple) else (out,)):
            if isinstance(t, tuple):
                for u in t:
                    largest[0] = max(largest[0], float(u.abs().max()))
            elif torch.is_tensor(t):
                largest[0] = max(largest[0], float(t.abs().max()))

    for m in model.modules():
        if m is not model:
            hooks.append(m.register_forward_hook(hook))
    logits(model, x)
    for h in hooks:
        h.remove()
    mods = list(model.modules())
    for a, b in zip(mods, mods[1:]):
        if isinstance(a, torch.nn.Conv2d) and isinstance(b, torch.nn.BatchNorm2d):
            scale = b.weight / torch.sqrt(b.running_var + b.eps)
            largest[0] = max(largest[0], float((a.weight * scale.view(-1, 1, 1, 1)).abs().max()),
                             float((b.bias - b.running_mean * scale).abs().max()))
    return largest[0]


def choose_frac_bits(max_abs):
    """The finest fixed16 fraction width (8 .. 12) whose range [-2^(15-F), 2^(15-F)) holds
    max_abs with a 2x margin."""
    f = 15 - max(0, math.ceil(math.log2(max(2.0 * max_abs, 1e-9))))
    return int(max(8, min(12, f)))  # bbs eval runs fixed16<8> .. fixed16<13>


def method_settings(method, sparsity):
    """GradualPruner keyword arguments and the export's bank configuration (or None)."""
    if method == "unstructured":
        return dict(method="unstructured"), None
    if method.startswith("bbs"):
        bank = int(method[3:])
        return dict(method="bbs", bank_size=bank), bank_config_from_sparsity(bank, sparsity)
    if method.startswith("block"):
        b = int(method[5:])
        return dict(method="block", block=(b, b)), None
    raise ValueError(method)


def run_name(method, sparsity, seed):
    return "dense" + f"_s{seed}" if method == "dense" else f"{method}_{sparsity * 100:g}_s{seed}"


def save_run(task, model, run_dir, meta, bank_configs):
    os.makedirs(run_dir, exist_ok=True)
    export_model(model, os.path.join(run_dir, "model.bbsm"), input_shape=task.input_shape, bank_configs=bank_configs,
                 comment=f"tools/studies/accuracy_study.py: {task.name} {meta['method']} sparsity {meta['sparsity']} seed {meta['seed']}")
    out = logits(model, task.x_test)
    np.save(os.path.join(run_dir, "torch_logits.npy"), out.astype(np.float32))
    meta["torch_accuracy"] = float((out.argmax(1) == task.y_test).mean())
    meta["file_bytes"] = os.path.getsize(os.path.join(run_dir, "model.bbsm"))
    with open(os.path.join(run_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    torch.save(model.state_dict(), os.path.join(run_dir, "state_dict.pt"))
    return meta


def done_run(task, name, force):
    """The meta.json of a run an earlier call finished (None when absent or with force)."""
    path = os.path.join(task.dir, name, "meta.json")
    if force or not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def run_plan(cfg, methods, sparsities, seeds):
    """The (seed, method, sparsity) runs of a task, most telling first, so that a study stopped
    by --deadline (and resumed later: finished runs are kept) has whole comparisons: the dense
    models of every seed, every method at the target sparsity with every seed, then the other
    sparsities (descending) with cfg["seeds_elsewhere"] seeds."""
    plan = [(seed, "dense", 0.0) for seed in range(seeds)]
    if TARGET in sparsities:
        plan += [(seed, m, TARGET) for seed in range(seeds) for m in methods]
    elsewhere = min(seeds, cfg["seeds_elsewhere"])
    plan += [(seed, m, s) for seed in range(elsewhere) for s in sorted(sparsities, reverse=True) if s != TARGET
             for m in methods]
    return plan


def phase_train(args, mode):
    torch.set_num_threads(args.threads)
    for task_name in args.tasks:
        cfg = CONFIG[mode][task_name]
        methods = args.methods or cfg["methods"]
        sparsities = args.sparsities or (SMOKE_SPARSITIES if mode == "smoke" else SPARSITIES)
        seeds = args.seeds or cfg["seeds"]
        task = Task(task_name, cfg, args.work)
        task.write_test_file()
        task_meta = {"task": task_name, "config": cfg, "methods": list(methods), "sparsities": list(sparsities),
                     "seeds": seeds, "train_samples": len(task.y_train), "val_samples": len(task.y_val),
                     "test_samples": len(task.y_test), "runs": []}
        frac_bits = {}
        t_task = time.time()
        dense_states = {}
        skipped = []
        for seed, method, s in run_plan(cfg, methods, sparsities, seeds):
            t0 = time.time()
            name = run_name(method, s, seed)
            meta = done_run(task, name, args.force)
            if meta is None and args.deadline is not None and time.time() > args.deadline_at:
                skipped.append(name)  # past the deadline: finished runs are still listed, no new one starts
                continue
            if method == "dense":
                dense = task.model()
                if meta is not None:  # trained by an earlier, interrupted call
                    dense.load_state_dict(torch.load(os.path.join(task.dir, name, "state_dict.pt")))
                    dense.eval()
                else:
                    torch.manual_seed(1000 + seed)
                    dense = task.model()
                    _, fit = train(dense, task, cfg["dense_epochs"], cfg["lr"], seed=1000 + seed)
                    meta = save_run(task, dense, os.path.join(task.dir, name),
                                    {"task": task_name, "method": "dense", "sparsity": 0.0, "seed": seed,
                                     "actual_sparsity": 0.0, **fit, "train_seconds": time.time() - t0}, None)
                frac_bits[seed] = choose_frac_bits(max_activation(dense, task.x_val))
                dense_states[seed] = {k: v.clone() for k, v in dense.state_dict().items()}
            elif meta is None:
                model = task.model()
                model.load_state_dict(dense_states[seed])
                kw, bank_cfg = method_settings(method, s)
                end = cfg["prune_epochs"] * steps_per_epoch(task)
                pruner = GradualPruner(model, final_sparsity=s, begin_step=0, end_step=end,
                                       frequency=max(1, end // 12), parameters=pruned_parameters(task_name, model), **kw)
                _, fit = train(model, task, cfg["ft_epochs"], cfg["ft_lr"], seed=2000 + seed, pruner=pruner,
                               select_from=cfg["prune_epochs"])
                report = pruner.report()
                total = sum(p.numel() for _, p in pruner.parameters)
                actual = sum(report[n] * p.numel() for n, p in pruner.parameters) / total
                configs = ({n: tuple(bank_cfg) for n, _ in pruner.parameters} if bank_cfg is not None else None)
                meta = save_run(task, model, os.path.join(task.dir, name),
                                {"task": task_name, "method": method, "sparsity": s, "seed": seed,
                                 "bank_config": list(bank_cfg) if bank_cfg is not None else None,
                                 "actual_sparsity": actual, "param_sparsity": report, **fit,
                                 "train_seconds": time.time() - t0}, configs)
            else:
                task_meta["runs"].append(name)
                continue
            task_meta["runs"].append(name)
            print(f"[{task_name}] {name}: torch accuracy {meta['torch_accuracy']:.4f}, validation "
                  f"{meta.get('val_accuracy', float('nan')):.4f} after {meta.get('epochs')} epochs (best "
                  f"{meta.get('best_epoch')}), sparsity {meta['actual_sparsity']:.4f} ({time.time() - t0:.1f} s)",
                  flush=True)
        if skipped:
            print(f"[{task_name}] deadline reached: {len(skipped)} runs not trained ({', '.join(skipped)})", flush=True)
        task_meta["frac_bits"] = min(frac_bits.values())
        task_meta["train_seconds"] = time.time() - t_task
        with open(os.path.join(task.dir, "task.json"), "w") as f:
            json.dump(task_meta, f, indent=1)
        print(f"[{task_name}] trained in {task_meta['train_seconds']:.0f} s; fixed16 fraction bits {task_meta['frac_bits']}",
              flush=True)


# ---------------------------------------------------------------------------------------------
# C++ evaluation.


def cpp_eval(bbs, model, data, value_type, json_path, outputs_path, backend):
    """One ``bbs eval`` (one backend, no latency timing, one OpenMP thread); its JSON result."""
    cmd = [bbs, "eval", model, data, "--type", value_type, "--backend", backend, "--latency-samples", "0",
           "--quiet", "--json", json_path, "--outputs", outputs_path,
           "--allow-saturation"]  # the JSON's "saturated" records it; the report shows it
    t0 = time.time()
    env = dict(os.environ, OMP_NUM_THREADS=str(args_threads[0]))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stdout.strip()[-500:]}", "command": " ".join(cmd)}
    with open(json_path) as f:
        result = json.load(f)
    result["seconds"] = time.time() - t0
    return result


def test_inputs(path):
    """A bbs eval data file's float inputs, shaped for the PyTorch models, and its labels."""
    d = np.load(path)
    x = normalise(d["x"], d["x_scale"], d["x_offset"]) if "x_scale" in d else normalise(d["x"])
    if x.ndim == 3 and "x_scale" in d:  # N, H, W images of one channel
        x = x[:, None]
    return x, d["y"]


def phase_check(args, mode):
    """Re-reads every exported model with bbs_model.build_torch_model (a PyTorch interpreter of
    the model file) and compares its logits with the trained model's: the export is the model."""
    from bbs_model import build_torch_model

    torch.set_num_threads(args.threads)
    for task_name in args.tasks:
        tdir = os.path.join(args.work, task_name)
        with open(os.path.join(tdir, "task.json")) as f:
            task_meta = json.load(f)
        x, _ = test_inputs(os.path.join(tdir, "test.npz"))
        worst = (0.0, 1.0)
        for name in task_meta["runs"]:
            meta_path = os.path.join(tdir, name, "meta.json")
            with open(meta_path) as f:
                meta = json.load(f)
            ref = np.load(os.path.join(tdir, name, "torch_logits.npy"))
            out = logits(build_torch_model(os.path.join(tdir, name, "model.bbsm")), x)
            meta["export_check"] = {"max_abs_diff": float(np.abs(out - ref).max()),
                                    "agreement": float((out.argmax(1) == ref.argmax(1)).mean())}
            worst = (max(worst[0], meta["export_check"]["max_abs_diff"]), min(worst[1], meta["export_check"]["agreement"]))
            with open(meta_path, "w") as f:
                json.dump(meta, f, indent=1)
        print(f"[{task_name}] export check: the model files reproduce PyTorch's logits within {worst[0]:.2e}, "
              f"same predictions on {100 * worst[1]:.2f} % or more", flush=True)


args_threads = [1]


def phase_eval(args, mode):
    args_threads[0] = args.threads
    bbs = args.bbs
    if not (os.path.isfile(bbs) and os.access(bbs, os.X_OK)):
        print(f"eval: no bbs CLI at {bbs}; build it (cmake --build build-s --target bbs) or pass --bbs", file=sys.stderr)
        sys.exit(2)
    for task_name in args.tasks:
        tdir = os.path.join(args.work, task_name)
        if os.path.isfile(os.path.join(tdir, "task.json")):
            with open(os.path.join(tdir, "task.json")) as f:
                task_meta = json.load(f)
        else:  # training still running: the runs finished so far, float32 only
            task_meta = {"runs": sorted(d for d in os.listdir(tdir) if os.path.isfile(os.path.join(tdir, d, "meta.json")))}
        y = np.load(os.path.join(tdir, "test.npz"))["y"]
        types = {"float32": "float32"}
        if "frac_bits" in task_meta and "fixed16" in args.types:
            types["fixed16"] = f"fixed16<{task_meta['frac_bits']}>"
        if "float32" not in args.types:
            del types["float32"]
        t_task = time.time()
        for name in task_meta["runs"]:
            rdir = os.path.join(tdir, name)
            meta_path = os.path.join(rdir, "meta.json")
            with open(meta_path) as f:
                meta = json.load(f)
            torch_pred = np.load(os.path.join(rdir, "torch_logits.npy")).argmax(1)
            for key, vtype in types.items():
                if not args.force and key in meta.get("cpp", {}) and "error" not in meta["cpp"][key]:
                    continue
                res = cpp_eval(bbs, os.path.join(rdir, "model.bbsm"), os.path.join(tdir, "test.npz"), vtype,
                               os.path.join(rdir, f"cpp_{key}.json"), os.path.join(rdir, f"cpp_{key}_logits.npy"),
                               args.backend)
                res["value_type"] = vtype
                if "error" not in res:
                    out = np.load(os.path.join(rdir, f"cpp_{key}_logits.npy"))
                    pred = out.reshape(len(y), -1).argmax(1)
                    res["accuracy_check"] = float((pred == y).mean())
                    res["agreement"] = float((pred == torch_pred).mean())
                meta.setdefault("cpp", {})[key] = res
                shown = (f"accuracy {res.get('accuracy')}, agreement {res.get('agreement'):.4f}" if "error" not in res
                         else res["error"])
                print(f"[{task_name}] {name} {vtype}: {shown}", flush=True)
            with open(meta_path, "w") as f:
                json.dump(meta, f, indent=1)
        print(f"[{task_name}] evaluated in {time.time() - t_task:.0f} s", flush=True)


# ---------------------------------------------------------------------------------------------
# Report.

TASK_TITLES = {"digits": "Digits, LSTM (hidden 64) sequence classifier",
               "fashion": "Fashion-MNIST, depthwise-separable CNN"}


TASK_SETUP = {
    "digits": "LSTM 8 -> 64 (one layer), last step, Linear 64 -> 10; inputs: the 8 rows of an 8 x 8 digit "
              "(pixel / 16) as 8 time steps. Pruned: weight_ih_l0 (256 x 8), weight_hh_l0 (256 x 64) and the "
              "Linear (10 x 64). weight_ih has 8 columns, so BBS banks are at most 8 wide (a wider bank would "
              "be one partial bank that prunes weight_ih less). Bank 4 cannot reach 87.5 % (it keeps at "
              "least 1 of 4): its actual sparsity says so and it is not compared there.",
    "fashion": "conv 3x3 1 -> 64 stride 2 + BN + ReLU6; two blocks of depthwise 3x3 + BN + ReLU6, pointwise "
               "1x1 + BN + ReLU6, MaxPool 2 (64 -> 128, 128 -> 128); global average pool; Linear 128 -> 10. "
               "Pruned: the pointwise convolutions (128 x 64, 128 x 128) and the Linear (10 x 128); the first "
               "convolution (9 weights per filter) and the depthwise filters stay dense.",
}


def collect(args):
    results = {"machine": MACHINE, "platform": platform.platform(), "tasks": {}}
    for task_name in args.tasks:
        tdir = os.path.join(args.work, task_name)
        with open(os.path.join(tdir, "task.json")) as f:
            task_meta = json.load(f)
        runs = []
        for name in task_meta["runs"]:
            with open(os.path.join(tdir, name, "meta.json")) as f:
                runs.append(json.load(f))
        results["tasks"][task_name] = {k: v for k, v in task_meta.items() if k != "runs"}
        results["tasks"][task_name]["runs"] = runs
    return results


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _std(values):
    """Sample standard deviation (n - 1); None for fewer than two values."""
    values = [v for v in values if v is not None]
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def summarize(task):
    """{(method, sparsity): {torch, cpp_float, cpp_fixed, agreement_float, agreement_fixed,
    actual_sparsity, epochs, best_epoch} means over seeds, their *_std, n, min_agreement_float}."""
    cells = {}
    for r in task["runs"]:
        key = (r["method"], r["sparsity"])
        cpp = r.get("cpp", {})
        cells.setdefault(key, []).append({
            "torch": r["torch_accuracy"],
            "cpp_float": cpp.get("float32", {}).get("accuracy"),
            "cpp_fixed": cpp.get("fixed16", {}).get("accuracy"),
            "agreement_float": cpp.get("float32", {}).get("agreement"),
            "agreement_fixed": cpp.get("fixed16", {}).get("agreement"),
            "saturated_fixed": cpp.get("fixed16", {}).get("saturated"),
            "actual_sparsity": r["actual_sparsity"],
            "epochs": r.get("epochs"),
            "best_epoch": r.get("best_epoch"),
        })
    out = {}
    for key, rows in cells.items():
        out[key] = {k: _mean([row[k] for row in rows]) for k in rows[0]}
        for k in ("torch", "cpp_float", "cpp_fixed"):
            out[key][k + "_std"] = _std([row[k] for row in rows])
        out[key]["n"] = len(rows)
        out[key]["min_agreement_float"] = min((row["agreement_float"] for row in rows
                                               if row["agreement_float"] is not None), default=None)
    return out


def pct(v, digits=2):
    return "n/a" if v is None else f"{100 * v:.{digits}f}"


def pct_std(cell, key):
    """'mean ± std' in % (the mean alone for one seed)."""
    std = cell.get(key + "_std")
    return pct(cell[key]) + (f" ± {100 * std:.2f}" if std is not None else "")


def comparable(task, cells, method, sparsity):
    """Whether (method, sparsity) really reached the sparsity (a bank too narrow or wider than a
    matrix keeps more weights): within half a point of the target."""
    c = cells.get((method, sparsity))
    return c is not None and c["actual_sparsity"] >= sparsity - 0.005


def phase_report(args, mode):
    results = collect(args)
    out_dir = args.out or (os.path.join(ROOT, "docs") if mode == "full" else args.work)
    os.makedirs(out_dir, exist_ok=True)
    lines = ["# Accuracy of bank-balanced sparsity (BBS) against other pruning patterns", "",
             f"Produced by `/usr/bin/python3 tools/studies/accuracy_study.py{' --smoke' if mode == 'smoke' else ''}` "
             f"(train, C++ eval, report) on {MACHINE}. Raw numbers: `accuracy.json`; plot: `accuracy.png`.", "",
             "Training runs in epochs with early stopping on a validation split that the test set never "
             "touches: after every epoch the validation accuracy is measured, the best epoch's weights are "
             "kept, and training stops after `patience` epochs without improvement or at the epoch budget. "
             "Every pruned model starts from its seed's dense model and gets the same budget: GradualPruner's "
             "cubic schedule over the first `prune_epochs`, then fine-tuning at the final masks (validation "
             "counts only from then on). Each model is exported with `python/bbs/export.py` and "
             "evaluated three ways on the test set: PyTorch (float32), `bbs eval --type float32` and "
             "`bbs eval --type fixed16<F>` (C++). BBS keeps `BankConfig::from_sparsity(bank, s)` entries per "
             "bank; the actual-sparsity table gives what each pattern reached. Unstructured and block models "
             "are stored as dense BBS matrices (bank = columns), which compute the same function.", "",
             f"Every method runs at {100 * TARGET:g} % (the paper's sparsity) with every seed; cells are "
             "mean ± sample standard deviation over seeds. The other sparsities run with fewer seeds "
             "(the n column of accuracy.json).", ""]
    summary_json = {}
    for task_name, task in results["tasks"].items():
        cells = summarize(task)
        summary_json[task_name] = {f"{m}@{s}": v for (m, s), v in cells.items()}
        fb = task.get("frac_bits")
        cfg = task["config"]
        lines += [f"## {TASK_TITLES.get(task_name, task_name)}", "",
                  f"Train {task['train_samples']} / validation {task.get('val_samples', 'n/a')} / test "
                  f"{task['test_samples']} samples, {task.get('seeds', 1)} seed(s) at {100 * TARGET:g} %. Budget: dense "
                  f"at most {cfg['dense_epochs']} epochs, pruned at most {cfg['ft_epochs']} epochs "
                  f"(sparsity ramp over {cfg['prune_epochs']}), patience {cfg['patience']}, batch {cfg['batch']}. "
                  f"Fixed point: fixed16<{fb}> (F chosen from the dense models' largest activation with a 2x margin).", "",
                  TASK_SETUP.get(task_name, ""), "",
                  f"Training took {sum(r.get('train_seconds', 0) for r in task['runs']) / 60:.1f} min (one thread, summed over runs).", "",
                  "Cells: PyTorch / C++ float32 / C++ fixed16 test accuracy, %, mean ± std over seeds.", ""]
        sp = task["sparsities"]
        lines.append("| method | " + " | ".join(f"{100 * s:g} %" for s in sp) + " |")
        lines.append("|---|" + "---|" * len(sp))

        def cell_text(c):
            return f"{pct_std(c, 'torch')} / {pct(c['cpp_float'])} / {pct(c['cpp_fixed'])}"

        d = cells.get(("dense", 0.0))
        if d:
            lines.append("| dense | " + " | ".join([cell_text(d)] + [""] * (len(sp) - 1)) + " |")
        for m in task["methods"]:
            row = [cell_text(cells[(m, s)]) if (m, s) in cells else "not run" for s in sp]
            lines.append(f"| {m} | " + " | ".join(row) + " |")
        lines += ["", "Actual sparsity of the pruned matrices, % (epochs trained, mean):", ""]
        lines.append("| method | " + " | ".join(f"{100 * s:g} %" for s in sp) + " |")
        lines.append("|---|" + "---|" * len(sp))
        if d:
            lines.append("| dense | " + " | ".join([f"0 ({d['epochs']:.0f} epochs)" if d.get("epochs") else "0"]
                                                  + [""] * (len(sp) - 1)) + " |")
        for m in task["methods"]:
            lines.append(f"| {m} | " + " | ".join(
                f"{pct(cells[(m, s)]['actual_sparsity'], 1)} ({cells[(m, s)]['epochs']:.0f})"
                if (m, s) in cells and cells[(m, s)].get("epochs") is not None
                else (pct(cells[(m, s)]["actual_sparsity"], 1) if (m, s) in cells else "not run") for s in sp) + " |")
        missing = [f"{m} at {100 * s:g} %" for s in sp for m in task["methods"] if (m, s) not in cells]
        if missing:
            lines += ["", f"Not run yet: {', '.join(missing)} (the train phase resumes where it stopped)."]
        # Targets (issue 14): at the target sparsity, BBS within 0.5 point of dense and of
        # unstructured (means over seeds); fixed16 within 0.1 point of float.
        lines += ["", "Targets:", ""]
        unst = cells.get(("unstructured", TARGET))
        for m in task["methods"]:
            if not m.startswith("bbs") or (m, TARGET) not in cells:
                continue
            c = cells[(m, TARGET)]
            if not comparable(task, cells, m, TARGET):
                lines.append(f"- {m} at {100 * TARGET:g} %: reaches only {pct(c['actual_sparsity'], 1)} % sparsity "
                             "(the bank is too narrow for the target), not compared")
                continue
            for ref_name, ref in (("dense", d), ("unstructured", unst)):
                if ref is None:
                    continue
                diff = c["torch"] - ref["torch"]
                ok = "met" if diff >= -0.005 else "MISSED"
                lines.append(f"- {m} at {100 * TARGET:g} % vs {ref_name}: {pct_std(c, 'torch')} vs {pct_std(ref, 'torch')} "
                             f"({100 * diff:+.2f} points, {c['n']} / {ref['n']} seeds; target within 0.5 point: {ok})")
        diffs = [(k, v["cpp_fixed"] - v["cpp_float"]) for k, v in cells.items()
                 if v["cpp_fixed"] is not None and v["cpp_float"] is not None and not k[0].startswith("block")]
        if diffs:
            worst = min(diffs, key=lambda kv: kv[1])
            ok = "met" if worst[1] >= -0.001 else "MISSED"
            lines.append(f"- fixed16<{fb}> vs float32 (C++), dense, unstructured and BBS models: largest loss "
                         f"{100 * -worst[1]:.2f} points ({worst[0][0]} at {100 * worst[0][1]:g} %); target at most "
                         f"0.1 point: {ok}")
        saturated = [(k, v["saturated_fixed"]) for k, v in cells.items() if v.get("saturated_fixed")]
        fixed_runs = [v for v in cells.values() if v.get("cpp_fixed") is not None]
        if fixed_runs:
            lines.append(f"- fixed16<{fb}> saturation (values at the limits of their format, `bbs eval`): " +
                         (", ".join(f"{m} at {100 * s:g} %: {n:.0f} (mean over seeds)" for (m, s), n in saturated)
                          if saturated else "none in any model"))
        checks = [r["export_check"] for r in task["runs"] if "export_check" in r]
        if checks:
            lines.append(f"- export check of {len(checks)} of {len(task['runs'])} models (model file re-read in PyTorch by "
                         f"`bbs_model.build_torch_model`, `--phase check`): logits within "
                         f"{max(c['max_abs_diff'] for c in checks):.1e} of the trained model's, same predictions on "
                         f"{100 * min(c['agreement'] for c in checks):.2f} % of test samples or more")
        agree = [(k, v["min_agreement_float"]) for k, v in cells.items() if v["min_agreement_float"] is not None]
        if agree:
            worst = min(agree, key=lambda kv: kv[1])
            ok = "met" if worst[1] >= 0.999 else "MISSED"
            lines.append(f"- C++ float32 predictions equal PyTorch's on at least {100 * worst[1]:.2f} % of test samples "
                         f"in every model; target >= 99.9 %: {ok}")
        else:
            lines.append("- C++ evaluation not run yet (`--phase eval`).")
        lines.append("")
    results["summary"] = summary_json
    with open(os.path.join(out_dir, "accuracy.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out_dir, "ACCURACY.md"), "w") as f:
        f.write("\n".join(lines))
    plot(results, os.path.join(out_dir, "accuracy.png"))
    print(f"report: {out_dir}/ACCURACY.md, accuracy.json, accuracy.png")


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(results["tasks"].items())
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4.5), squeeze=False)
    for ax, (task_name, task) in zip(axes[0], tasks):
        cells = summarize(task)
        sp = task["sparsities"]
        for m in task["methods"]:
            xs = [100 * s for s in sp if (m, s) in cells]
            ys = [100 * cells[(m, s)]["torch"] for s in sp if (m, s) in cells]
            err = [100 * (cells[(m, s)]["torch_std"] or 0) for s in sp if (m, s) in cells]
            style = "-o" if m.startswith("bbs") else ("--s" if m == "unstructured" else ":^")
            ax.errorbar(xs, ys, yerr=err, fmt=style, label=m, markersize=4, capsize=2)
        if ("dense", 0.0) in cells:
            ax.axhline(100 * cells[("dense", 0.0)]["torch"], color="k", lw=0.8, ls="-.", label="dense")
        ax.set_xscale("function", functions=(lambda x: -np.log2(1 - np.asarray(x) / 100 + 1e-9),
                                              lambda y: 100 * (1 - 2.0 ** -np.asarray(y))))
        ax.set_xticks([100 * s for s in sp])
        ax.set_xticklabels([f"{100 * s:g}" for s in sp])
        ax.set_xlabel("target sparsity of the pruned matrices, %")
        ax.set_ylabel("test accuracy (PyTorch), %")
        ax.set_title(TASK_TITLES.get(task_name, task_name), fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"Accuracy vs sparsity ({results['machine']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Shipped models.

SHIP_NAMES = {"digits": "digits_lstm", "fashion": "fashion_dscnn"}


def phase_ship(args, mode):
    """Copies each task's dense model and its best BBS model at 87.5 % (highest PyTorch accuracy
    among those whose pruned matrices are at least 87 % sparse; ties to bank 16, then the smaller bank) to models/<task>_{dense,bbs}.bbsm, with models/README.md
    and models/<task>.fixed_type (the fixed16<F> the study evaluated, read by scripts/demo)."""
    results = collect(args)
    out_dir = args.ship_dir or os.path.join(ROOT, "models")
    os.makedirs(out_dir, exist_ok=True)
    lines = ["# Shipped models", "",
             "Trained, pruned and exported by the accuracy study (docs/ACCURACY.md):", "",
             "```sh", "/usr/bin/python3 tools/studies/accuracy_study.py            # train, C++ eval, report",
             "/usr/bin/python3 tools/studies/accuracy_study.py --phase ship  # copies the models below here",
             "/usr/bin/python3 tools/studies/demo_data.py DATA               # their test sets, for bbs eval", "```", "",
             "| file | task | weights | sparsity of the pruned matrices | PyTorch | C++ float32 | C++ fixed16 | size |",
             "|---|---|---|---|---|---|---|---|"]
    for task_name, task in results["tasks"].items():
        runs = [r for r in task["runs"] if r["seed"] == 0]
        dense = next(r for r in runs if r["method"] == "dense")
        # Only models that really are 87.5 % sparse: a bank wider than a matrix's rows keeps the
        # whole partial bank (digits' weight_ih has 8 columns), which prunes less.
        bbs = [r for r in runs if r["method"].startswith("bbs") and r["sparsity"] == 0.875
               and r.get("actual_sparsity", 0.875) >= 0.87]
        if not bbs:
            continue
        best = max(bbs, key=lambda r: (round(r["torch_accuracy"], 6), r["method"] == "bbs16", -int(r["method"][3:])))
        fb = task.get("frac_bits")
        with open(os.path.join(out_dir, f"{SHIP_NAMES[task_name]}.fixed_type"), "w") as f:
            f.write(f"fixed16<{fb}>\n")  # the fixed-point type scripts/demo runs the models in
        for kind, r in (("dense", dense), ("bbs", best)):
            name = f"{SHIP_NAMES[task_name]}_{kind}.bbsm"
            src = os.path.join(args.work, task_name, run_name(r["method"], r["sparsity"], r["seed"]), "model.bbsm")
            shutil.copyfile(src, os.path.join(out_dir, name))
            cpp = r.get("cpp", {})
            desc = "dense (stored as dense BBS matrices)" if kind == "dense" else (
                f"BBS bank {r['bank_config'][0]}, nnz {r['bank_config'][1]}")
            lines.append(f"| `{name}` | {task_name} | {desc} | {pct(r['actual_sparsity'], 1)} % | "
                         f"{pct(r['torch_accuracy'])} % | {pct(cpp.get('float32', {}).get('accuracy'))} % | "
                         f"{pct(cpp.get('fixed16', {}).get('accuracy'))} % (fixed16<{fb}>) | "
                         f"{os.path.getsize(src) // 1024} KB |")
    lines += ["", "Test sets: digits, the study's 540-sample split of scikit-learn's digits (8 rows of 8 "
              "pixels / 16 as a sequence); Fashion-MNIST, t10k (10000 images, uint8 with "
              "x_scale / x_offset). `tools/studies/demo_data.py OUTDIR` writes both as `digits_test.npz` and "
              "`fashion_test.npz`:", "",
              "```sh", "bbs eval models/fashion_dscnn_bbs.bbsm DATA/fashion_test.npz --type float32", "```", "",
              "Architectures: see tools/studies/accuracy_study.py (digits: LSTM 8 -> 64, last step, Linear 64 -> 10; "
              "Fashion: conv 3x3 1 -> 64 stride 2, two depthwise-separable blocks 64 -> 128 -> 128 with "
              "max pooling, global average pooling, Linear 128 -> 10). Pruned matrices: the LSTM's "
              "weight_ih / weight_hh and the Linear; the CNN's pointwise convolutions and the Linear.", ""]
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"ship: {out_dir}")


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description="BBS accuracy study (see the module docstring)")
    ap.add_argument("--smoke", action="store_true", help="tiny data and budgets, reduced grid (CI)")
    ap.add_argument("--phase", choices=["train", "check", "eval", "report", "ship", "all"], default="all")
    ap.add_argument("--work", help="work directory (default build-study or build-study-smoke)")
    ap.add_argument("--out", help="report directory (default docs/, smoke: the work directory)")
    ap.add_argument("--bbs", default=os.path.join(ROOT, "build-s", "tools", "bbs", "bbs"), help="the bbs CLI")
    ap.add_argument("--tasks", nargs="+", default=["digits", "fashion"], choices=["digits", "fashion"])
    ap.add_argument("--methods", nargs="+", choices=METHODS)
    ap.add_argument("--sparsities", nargs="+", type=float)
    ap.add_argument("--seeds", type=int, help="seeds per task (default: the mode's)")
    ap.add_argument("--threads", type=int, default=1, help="PyTorch threads and OMP_NUM_THREADS of bbs eval")
    ap.add_argument("--backend", default="simd", help="eval: the bbs backend (bbs eval --backend)")
    ap.add_argument("--ship-dir", help="ship: where the models go (default models/)")
    ap.add_argument("--types", nargs="+", default=["float32", "fixed16"], choices=["float32", "fixed16"],
                    help="eval: the value types to run (fixed16<F> with the task's F)")
    ap.add_argument("--deadline", type=float,
                    help="train: start no run after this many minutes (0: train nothing, list the finished runs)")
    ap.add_argument("--force", action="store_true", help="train / eval: redo runs and evaluations already done")
    args = ap.parse_args()
    mode = "smoke" if args.smoke else "full"
    args.work = args.work or os.path.join(ROOT, "build-study-smoke" if args.smoke else "build-study")
    t0 = time.time()
    args.deadline_at = t0 + 60 * (args.deadline or 0)
    if args.phase in ("train", "all"):
        phase_train(args, mode)
    if args.phase in ("check", "all"):
        phase_check(args, mode)
    if args.phase in ("eval", "all"):
        if args.phase == "all" and not os.path.isfile(args.bbs):
            print(f"eval skipped: no bbs CLI at {args.bbs}", file=sys.stderr)
        else:
            phase_eval(args, mode)
    if args.phase in ("report", "all"):
        phase_report(args, mode)
    if args.phase == "ship":
        phase_ship(args, mode)
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
