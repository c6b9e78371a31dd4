#!/usr/bin/python3
"""The streaming CTC phone recognizer of docs/SPEECH.md: a unidirectional LSTM stack and a linear
layer on every frame, trained in PyTorch with CTC on a corpus from make_speech_corpus.py, pruned
gradually (bbs_pruning.GradualPruner: bank-balanced, unstructured or block) and exported as a
bbs model file that bbs runs frame by frame.

  /usr/bin/python3 tools/speech/acoustic_model.py CORPUS OUT.bbsm [--method dense|bbs|unstructured|block]
      [--sparsity 0.875] [--bank 16] [--hidden 128] [--layers 2] [--stack 4] [--epochs 20]
      [--prune-epochs 10] [--finetune-epochs 0] [--init DENSE.pt] [--seed 1] [--threads N]
  /usr/bin/python3 tools/speech/acoustic_model.py --smoke [--bbs PATH]   (a tiny corpus and model end to end)

With --bbs (the bbs tool), the exported model also runs in C++: `bbs transcribe` streams the
first validation utterance frame by frame, and its logits are compared with PyTorch's.

Features are tools/speech/features.py's log-mel frames, cached as <wav>.logmel.npy in the corpus,
stacked --stack at a time (features.stack: 4 frames of 40 bands make one 160-feature step every
40 ms, so the LSTM runs 25 steps per second of audio). They are normalised per band with the training set's mean and deviation; the export folds that
into the first LSTM layer's input weights and bias (a column scaling keeps every pruned weight
zero), so the model file takes raw features. Phone labels are 1..38 (phones.PHONES), 0 is
CTC's blank. OUT.pt keeps the PyTorch model; --init starts pruning from such a dense model
instead of training one (the study prunes each method from the same dense seed). Decoding is greedy (best label per frame, repeats merged, blanks dropped). PER is
the edit distance to the reference over the reference's length, summed over a split. OUT.json
gets the PER of every split, the settings and the training time."""
import argparse
import csv
import json
import math
import os
import sys
import tempfile
import time
from collections import OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import features  # noqa: E402
import phones  # noqa: E402
from speech_eval import edit_distance  # noqa: E402,F401  (also this module's, for its tests)
import bbs_model  # noqa: E402  (tools/python)
import bbs_pruning  # noqa: E402  (tools/python)

LABEL = {p: i + 1 for i, p in enumerate(phones.PHONES)}
CLASSES = len(phones.PHONES) + 1


def load_split(corpus, split, stack):
    """[(features steps x 40 stack float32, labels int64)] of a split, log-mel frames cached
    beside each WAV."""
    with open(os.path.join(corpus, f"{split}.tsv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    out = []
    for r in rows:
        wav = os.path.join(corpus, r["wav"])
        cache = wav[:-4] + ".logmel.npy"
        if os.path.exists(cache):
            x = np.load(cache)
        else:
            x = features.log_mel(features.read_wav(wav))
            np.save(cache, x)
        x = features.stack(x, stack)
        y = np.array([LABEL[p] for p in r["phones"].split()], dtype=np.int64)
        out.append((x, y))
    return out


class Normalize(torch.nn.Module):
    """(x - mean) / std per band; folded into the first LSTM layer at export."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.std


def build(mean, std, hidden, layers):
    """Normalize, the LSTM stack and the output layer; the input size is len(mean)."""
    return torch.nn.Sequential(OrderedDict(
        norm=Normalize(mean, std),
        rnn=torch.nn.LSTM(len(mean), hidden, num_layers=layers, batch_first=True),
        steps=bbs_model.AllSteps(),
        fc=torch.nn.Linear(hidden, CLASSES)))


def exportable(model):
    """The model without Normalize: the first layer's input weights and bias absorb it."""
    rnn = torch.nn.LSTM(model.rnn.input_size, model.rnn.hidden_size, num_layers=model.rnn.num_layers,
                        batch_first=True)
    rnn.load_state_dict(model.rnn.state_dict())
    with torch.no_grad():
        scale = 1.0 / model.norm.std.double()
        w = model.rnn.weight_ih_l0.double() * scale  # columns scaled: zeros stay zeros
        rnn.weight_ih_l0.copy_(w.float())
        rnn.bias_ih_l0.copy_((model.rnn.bias_ih_l0.double() - w @ model.norm.mean.double()).float())
    fc = torch.nn.Linear(model.fc.in_features, model.fc.out_features)
    fc.load_state_dict(model.fc.state_dict())
    return torch.nn.Sequential(OrderedDict(rnn=rnn, steps=bbs_model.AllSteps(), fc=fc)).eval()


def batches(data, size, rng):
    """Mini-batches of similar lengths (sorted, then shuffled as batches)."""
    order = sorted(range(len(data)), key=lambda i: data[i][0].shape[0])
    groups = [order[i:i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def forward_batch(model, data, idx):
    xs = [torch.from_numpy(data[i][0]) for i in idx]
    lengths = torch.tensor([x.shape[0] for x in xs])
    padded = torch.nn.utils.rnn.pad_sequence(xs, batch_first=True)
    logits = model(padded)  # N, T, C; frames past a length are ignored by CTC and decoding
    return logits, lengths


def greedy(logits, length):
    best = logits[:length].argmax(dim=-1).tolist()
    out, prev = [], 0
    for b in best:
        if b != prev and b != 0:
            out.append(b)
        prev = b
    return out


def phone_error_rate(model, data, batch=16):
    model.eval()
    errors = total = 0
    with torch.no_grad():
        for start in range(0, len(data), batch):
            idx = list(range(start, min(len(data), start + batch)))
            logits, lengths = forward_batch(model, data, idx)
            for k, i in enumerate(idx):
                ref = data[i][1].tolist()
                errors += edit_distance(greedy(logits[k], int(lengths[k])), ref)
                total += len(ref)
    return errors / max(total, 1)


def train(model, data, epochs, lr, batch, rng, pruner=None, log=print):
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    opt = torch.optim.Adam([p for n, p in model.named_parameters()], lr=lr)
    for epoch in range(epochs):
        model.train()
        total, done, started = 0.0, 0, time.time()
        for idx in batches(data, batch, rng):
            logits, lengths = forward_batch(model, data, idx)
            targets = torch.cat([torch.from_numpy(data[i][1]) for i in idx])
            target_lengths = torch.tensor([len(data[i][1]) for i in idx])
            loss = ctc(logits.log_softmax(-1).transpose(0, 1), targets, lengths, target_lengths)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            if pruner is not None:
                pruner.step()
            total += float(loss) * len(idx)
            done += 1
            if done % 50 == 0:
                log(f"  epoch {epoch + 1}: {done} batches, {time.time() - started:.0f} s")
        log(f"epoch {epoch + 1}/{epochs}: CTC loss {total / len(data):.3f}" +
            ("" if pruner is None else f", sparsity {pruner.sparsity:.3f}"))


def compare_with_bbs(bbs, model_path, torch_model, tsv, stack):
    """`bbs transcribe` on the first utterance of tsv against the exported PyTorch model: the
    largest logit difference and whether the decoded phones agree."""
    import subprocess
    with open(tsv, encoding="utf-8") as f:
        wav = os.path.join(os.path.dirname(tsv), next(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))["wav"])
    with tempfile.TemporaryDirectory(prefix="bbs_transcribe_") as tmp:
        logits_path = os.path.join(tmp, "logits.npy")
        out = subprocess.run([bbs, "transcribe", model_path, wav, "--logits", logits_path, "--quiet"], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()
        got = np.load(logits_path)
    with torch.no_grad():
        x = features.stack(features.log_mel(features.read_wav(wav)), stack)
        want = torch_model(torch.from_numpy(x)[None])[0]
    torch_phones = [phones.PHONES[c - 1] for c in greedy(want, want.shape[0])]
    return {"utterance": os.path.basename(wav), "frames": int(got.shape[0]),
            "max_logit_difference": float(np.abs(got - want.numpy()).max()) if got.shape == tuple(want.shape) else None,
            "phones_equal": (out[-1].split() if out else []) == torch_phones}


def lstm_weights(model):
    return [(n, p) for n, p in model.named_parameters() if n.startswith("rnn.weight")]


def run(a, log=print):
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    torch.set_num_threads(a.threads)
    started = time.time()
    data = {s: load_split(a.corpus, s, a.stack) for s in ("train", "val", "test", "cross")}
    if a.train_limit:
        data["train"] = data["train"][:a.train_limit]
    frames = np.concatenate([x for x, _ in data["train"]])
    model = build(frames.mean(axis=0), frames.std(axis=0) + 1e-3, a.hidden, a.layers)
    if a.init:
        model.load_state_dict(torch.load(a.init))
        log(f"acoustic_model: starting from {a.init}")
    else:
        train(model, data["train"], a.epochs, a.lr, a.batch, rng, log=log)
    # A dense model keeps every weight, in banks that divide every LSTM matrix's columns: one bank
    # configuration for the whole stack, which bbs::nn::save_model (bbs calibrate) needs.
    dense_bank = math.gcd(model.rnn.input_size, model.rnn.hidden_size)
    bank_configs = {n: (dense_bank, dense_bank) for n, _ in lstm_weights(model)}
    if a.method != "dense":
        def pruner(initial, end):
            return bbs_pruning.GradualPruner(model, a.method, a.sparsity, initial_sparsity=initial, begin_step=0,
                                             end_step=end, frequency=max(1, end // 10),
                                             bank_size=a.bank if a.method == "bbs" else None,
                                             block=(4, 4) if a.method == "block" else None,
                                             parameters=lstm_weights(model))
        if a.prune_epochs > 0:
            steps_per_epoch = len(batches(data["train"], a.batch, rng))
            end = max(1, steps_per_epoch * a.prune_epochs * 2 // 3)
            train(model, data["train"], a.prune_epochs, a.lr / 3, a.batch, rng, pruner=pruner(0.0, end), log=log)
        if a.finetune_epochs > 0:  # masks fixed at the final sparsity from the first step
            train(model, data["train"], a.finetune_epochs, a.lr / 3, a.batch, rng, pruner=pruner(a.sparsity, 1),
                  log=log)
        if a.method == "bbs":
            cfg = bbs_pruning.bank_config_from_sparsity(a.bank, a.sparsity)
            bank_configs = {n: (cfg.bank_size, cfg.nnz_per_bank) for n, _ in lstm_weights(model)}
    result = {s: phone_error_rate(model, data[s]) for s in ("val", "test", "cross")}
    torch.save(model.state_dict(), os.path.splitext(a.out)[0] + ".pt")
    out_model = exportable(model)
    with torch.no_grad():  # the export computes what was trained, on raw features
        x = torch.from_numpy(data["val"][0][0][None])
        folded_error = float((out_model(x) - model(x)).abs().max())
    bbs_model.export_model(out_model, a.out, bank_configs=bank_configs,
                           comment=f"CTC phone recognizer ({a.method}), tools/speech/acoustic_model.py")
    cpp = compare_with_bbs(a.bbs, a.out, out_model, os.path.join(a.corpus, "val.tsv"),
                           a.stack) if a.bbs else None
    kept = sum(int((p != 0).sum()) for _, p in lstm_weights(model))
    total = sum(p.numel() for _, p in lstm_weights(model))
    summary = {"method": a.method, "sparsity": 1 - kept / total, "bank": a.bank if a.method == "bbs" else None,
               "hidden": a.hidden, "layers": a.layers, "stack": a.stack, "init": a.init,
               "epochs": a.epochs, "prune_epochs": a.prune_epochs,
               "finetune_epochs": a.finetune_epochs,
               "seed": a.seed, "per": result, "folded_max_difference": folded_error, "bbs": cpp,
               "train_utterances": len(data["train"]), "seconds": round(time.time() - started, 1)}
    with open(os.path.splitext(a.out)[0] + ".json", "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    log(f"acoustic_model: {a.out}: PER val {result['val']:.3f}, test {result['test']:.3f}, "
        f"cross {result['cross']:.3f} ({a.method}, LSTM sparsity {summary['sparsity']:.3f})")
    return summary


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", nargs="?")
    p.add_argument("out", nargs="?")
    p.add_argument("--method", choices=("dense", "bbs", "unstructured", "block"), default="dense")
    p.add_argument("--sparsity", type=float, default=0.875)
    p.add_argument("--bank", type=int, default=16)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--stack", type=int, default=4, help="log-mel frames per step (features.stack)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--prune-epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--finetune-epochs", type=int, default=0,
                   help="more epochs at the final sparsity after --prune-epochs (masks fixed)")
    p.add_argument("--init", help="a dense OUT.pt to prune, instead of training a dense model first")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--train-limit", type=int, default=0, help="train on the first N utterances only (quick runs)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--bbs", help="the bbs tool: also run the exported model in C++ (bbs transcribe)")
    p.add_argument("--smoke", action="store_true", help="a tiny corpus and model, end to end, in a temporary directory")
    a = p.parse_args(argv)
    if not a.smoke and (a.corpus is None or a.out is None):
        p.error("CORPUS and OUT.bbsm are required (or --smoke)")
    return a


def main(argv=None):
    a = parse(argv)
    if not a.smoke:
        return run(a)
    import make_speech_corpus
    with tempfile.TemporaryDirectory(prefix="bbs_acoustic_smoke_") as tmp:
        corpus = os.path.join(tmp, "corpus")
        make_speech_corpus.main([corpus, "--train", "8", "--val", "2", "--test", "2", "--cross", "2", "--jobs", "1"])
        a.corpus, a.out = corpus, os.path.join(tmp, "smoke.bbsm")
        a.hidden, a.layers, a.epochs, a.prune_epochs, a.bank = 16, 2, 2, 2, 8
        a.method = "bbs"
        summary = run(a)
        model = bbs_model.read_model(a.out)
        keywords = [k for k, _ in model["statements"]]
        assert keywords == ["input", "lstm", "linear"], keywords
        assert summary["folded_max_difference"] < 1e-4, summary
        assert abs(summary["sparsity"] - 0.875) < 1e-9, summary
        if a.bbs:
            cpp = summary["bbs"]
            assert cpp["max_logit_difference"] is not None and cpp["max_logit_difference"] < 1e-3, cpp
            print(f"acoustic_model: bbs transcribe matches PyTorch: {cpp}")
    return summary


if __name__ == "__main__":
    main()
