#!/usr/bin/python3
"""The speech study of docs/SPEECH.md: PER of a streaming CTC phone recognizer, dense against
pruned LSTMs (BBS at two bank sizes, unstructured, block 4x4), in PyTorch and in bbs (C++ float
and calibrated fixed16), on held-out voices and another synthesizer.

  /usr/bin/python3 tools/speech/speech_study.py CORPUS STUDY --phase train [--jobs 2] [--runs NAME,...]
  /usr/bin/python3 tools/speech/speech_study.py CORPUS STUDY --phase calibrate --bbs PATH
  /usr/bin/python3 tools/speech/speech_study.py CORPUS STUDY --phase eval --bbs PATH [--jobs 2]
  /usr/bin/python3 tools/speech/speech_study.py CORPUS STUDY --phase report [--json docs/speech.json --plot docs/speech.png]

train: every run of RUNS not yet trained, --jobs at a time, each one tools/speech/acoustic_model.py
with one thread. A pruned run starts from its seed's dense model (STUDY/dense_s<seed>.pt) and waits
for it; a FINETUNE run goes on training another run's pruned model at its final sparsity. A run whose log exists but whose result does not is taken as in progress elsewhere and
waited for; delete the log of a run that died to train it again.
calibrate: STUDY/calibration.npz (the first CALIBRATION_STEPS steps of CALIBRATION_UTTERANCES
training utterances, raw features), then `bbs calibrate` writes NAME.fixed.bbsm for every run.
eval: `scripts/speech-eval` (C++, streaming) of every run on the test and cross splits, float32
(NAME.bbsm) and fixed16<FIXED_FRAC> (NAME.fixed.bbsm); STUDY/eval/NAME.<split>.<type>.json.
report: a markdown table of PER per method (mean +- std over seeds) and, with --json / --plot, the
numbers and PER against sparsity."""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import features  # noqa: E402
import speech_eval  # noqa: E402

# name: (method, bank, sparsity, seed). Pruned runs start from dense_s<seed>.
RUNS = {
    "dense_s1": ("dense", None, 0.0, 1), "dense_s2": ("dense", None, 0.0, 2), "dense_s3": ("dense", None, 0.0, 3),
    "bbs16_s1": ("bbs", 16, 0.875, 1), "bbs16_s2": ("bbs", 16, 0.875, 2), "bbs16_s3": ("bbs", 16, 0.875, 3),
    "bbs32_s1": ("bbs", 32, 0.875, 1),
    "unstructured_s1": ("unstructured", None, 0.875, 1),
    "block_s1": ("block", None, 0.875, 1),
    "bbs16_75_s1": ("bbs", 16, 0.75, 1),
    "bbs16_9375_s1": ("bbs", 16, 0.9375, 1),
    "bbs16ft_s1": ("bbs", 16, 0.875, 1),
    "bbs16ft20_s1": ("bbs", 16, 0.875, 1), "bbs16ft20_s2": ("bbs", 16, 0.875, 2), "bbs16ft20_s3": ("bbs", 16, 0.875, 3),
}
# Runs that go on training another run's pruned model at its final sparsity: name: (run, epochs).
# bbs16ft20_s1 continues bbs16ft_s1, so all three seeds get 20 epochs at 87.5 % after pruning.
FINETUNE = {"bbs16ft_s1": ("bbs16_s1", 8), "bbs16ft20_s1": ("bbs16ft_s1", 12), "bbs16ft20_s2": ("bbs16_s2", 20),
            "bbs16ft20_s3": ("bbs16_s3", 20)}
DENSE_EPOCHS = 20
PRUNE_EPOCHS = 6
STACK = 4
CALIBRATION_UTTERANCES = 200
CALIBRATION_STEPS = 50
FIXED_FRAC = 10  # raw log-mel features reach -23 (digital silence): Q10 holds +-32
SPLITS = ("test", "cross")
TYPES = ("float32", f"fixed16<{FIXED_FRAC}>")


def train_command(corpus, study, name):
    method, bank, sparsity, seed = RUNS[name]
    cmd = [sys.executable, os.path.join(HERE, "acoustic_model.py"), corpus, os.path.join(study, name + ".bbsm"),
           "--method", method, "--seed", str(seed), "--threads", "1", "--stack", str(STACK),
           "--epochs", str(DENSE_EPOCHS), "--prune-epochs", str(PRUNE_EPOCHS)]
    if name in FINETUNE:
        base, epochs = FINETUNE[name]
        cmd += ["--sparsity", str(sparsity), "--init", os.path.join(study, base + ".pt"), "--prune-epochs", "0",
                "--finetune-epochs", str(epochs)]
    elif method != "dense":
        cmd += ["--sparsity", str(sparsity), "--init", os.path.join(study, f"dense_s{seed}.pt")]
    if bank:
        cmd += ["--bank", str(bank)]
    return cmd


def train(corpus, study, runs, jobs, log=print):
    done = lambda n: os.path.exists(os.path.join(study, n + ".json"))  # noqa: E731
    started = lambda n: os.path.exists(os.path.join(study, n + ".log"))  # noqa: E731
    ready = lambda n: done(FINETUNE[n][0]) if n in FINETUNE else (  # noqa: E731
        RUNS[n][0] == "dense" or done(f"dense_s{RUNS[n][3]}"))
    waiting = [n for n in runs if not done(n)]
    running = {}
    while waiting or running:
        for n, p in list(running.items()):
            if p.poll() is not None:
                log(f"speech_study: {n} finished ({p.returncode})")
                if p.returncode != 0:
                    raise SystemExit(f"speech_study: {n} failed; see {os.path.join(study, n + '.log')}")
                del running[n]
        for n in list(waiting):
            if done(n):
                waiting.remove(n)
            elif not started(n) and ready(n) and len(running) < jobs:
                with open(os.path.join(study, n + ".log"), "w", encoding="utf-8") as out:
                    running[n] = subprocess.Popen(train_command(corpus, study, n), stdout=out, stderr=subprocess.STDOUT)
                log(f"speech_study: training {n}")
                waiting.remove(n)
        if waiting or running:
            time.sleep(20)


def calibration_data(corpus, path):
    """x: CALIBRATION_UTTERANCES x CALIBRATION_STEPS x (40 STACK) raw stacked features from the
    start of training utterances long enough (a stream's state starts at zero there too)."""
    utts = speech_eval.utterances(os.path.join(corpus, "train.tsv"), None)
    xs = []
    for _, wav, _ in utts:
        cache = wav[:-4] + ".logmel.npy"
        x = np.load(cache) if os.path.exists(cache) else features.log_mel(features.read_wav(wav))
        x = features.stack(x, STACK)
        if x.shape[0] >= CALIBRATION_STEPS:
            xs.append(x[:CALIBRATION_STEPS])
        if len(xs) == CALIBRATION_UTTERANCES:
            break
    np.savez(path, x=np.stack(xs).astype(np.float32), y=np.zeros(len(xs), dtype=np.int64))


def calibrate(corpus, study, runs, bbs, log=print):
    data = os.path.join(study, "calibration.npz")
    if not os.path.exists(data):
        calibration_data(corpus, data)
    for n in runs:
        out = os.path.join(study, n + ".fixed.bbsm")
        r = subprocess.run([bbs, "calibrate", os.path.join(study, n + ".bbsm"), data, out, "--quiet"],
                           capture_output=True, text=True, check=True)
        log(f"speech_study: {n}: {r.stdout.strip().splitlines()[-1]}")


def eval_path(study, n, split, type_name):
    return os.path.join(study, "eval", f"{n}.{split}.{type_name.replace('<', '').replace('>', '')}.json")


def evaluate(corpus, study, runs, bbs, jobs, log=print):
    os.makedirs(os.path.join(study, "eval"), exist_ok=True)
    for n in runs:
        for type_name in TYPES:
            model = os.path.join(study, n + (".bbsm" if type_name == "float32" else ".fixed.bbsm"))
            for split in SPLITS:
                out = eval_path(study, n, split, type_name)
                if os.path.exists(out):
                    continue
                r = speech_eval.evaluate(model, os.path.join(corpus, split + ".tsv"), type_name, bbs=bbs, jobs=jobs,
                                         log=None)
                with open(out + ".tmp", "w", encoding="utf-8") as f:
                    json.dump(r, f)
                os.replace(out + ".tmp", out)
                log(f"speech_study: {n} {split} {type_name}: PER {100 * r['per']:.2f}%")


def collect(study, runs):
    rows = []
    for n in runs:
        path = os.path.join(study, n + ".json")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            s = json.load(f)
        method, bank, sparsity, seed = RUNS[n]
        row = {"run": n, "method": method, "bank": bank, "target_sparsity": sparsity, "seed": seed,
               "sparsity": s["sparsity"], "torch": s["per"], "cpp": {}}
        for type_name in TYPES:
            for split in SPLITS:
                p = eval_path(study, n, split, type_name)
                if os.path.exists(p):
                    with open(p, encoding="utf-8") as f:
                        row["cpp"].setdefault(type_name, {})[split] = json.load(f)["per"]
        rows.append(row)
    return rows


def label(row):
    name = {"dense": "dense", "bbs": f"BBS bank {row['bank']}", "unstructured": "unstructured",
            "block": "block 4x4"}[row["method"]]
    name = name if row["method"] == "dense" else f"{name}, {100 * row['target_sparsity']:g} %"
    return name + (f", then {finetune_epochs(row['run'])} more epochs" if row["run"] in FINETUNE else "")


def finetune_epochs(run):
    """Epochs at the final sparsity after pruning, along the chain of FINETUNE runs that ends in run."""
    return FINETUNE[run][1] + finetune_epochs(FINETUNE[run][0]) if run in FINETUNE else 0


def mean_std(values):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * np.mean(values):.2f} ± {100 * np.std(values, ddof=1):.2f}"


def report(rows):
    groups = {}
    for r in rows:
        groups.setdefault(label(r), []).append(r)
    lines = ["| model | seeds | PyTorch val | PyTorch test | C++ float32 test | C++ fixed16 test | PyTorch cross | "
             "C++ float32 cross | C++ fixed16 cross |", "|---|---|---|---|---|---|---|---|---|"]
    for name, rs in groups.items():
        cells = [name, str(len(rs)), mean_std([r["torch"]["val"] for r in rs])]
        for split in SPLITS:
            cells.append(mean_std([r["torch"][split] for r in rs]))
            for type_name in TYPES:
                cells.append(mean_std([r["cpp"][type_name][split] for r in rs if split in r["cpp"].get(type_name, {})]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    marks = {"dense": "ko", "bbs": "bs", "unstructured": "g^", "block": "rv"}
    for split, style in (("test", "-"), ("cross", ":")):
        by_sparsity = {}  # dense and BBS bank 16 (no extra fine-tuning): the mean over seeds
        for r in rows:
            if r["run"] not in FINETUNE and (r["method"] == "dense" or (r["method"] == "bbs" and r["bank"] == 16)):
                by_sparsity.setdefault(round(r["sparsity"], 4), []).append(
                    r["cpp"].get(TYPES[1], {}).get(split, r["torch"][split]))
        xs = sorted(by_sparsity)
        ax.plot([100 * x for x in xs], [100 * np.mean(by_sparsity[x]) for x in xs], "b" + style, alpha=0.5,
                label=f"BBS bank 16, mean, {split}")
        for r in rows:
            p = r["cpp"].get(TYPES[1], {}).get(split, r["torch"][split])
            ax.plot(100 * r["sparsity"], 100 * p, marks[r["method"]], fillstyle="full" if split == "test" else "none")
    for m, style in marks.items():
        ax.plot([], [], style, label=m)
    ax.set_xlabel("LSTM sparsity (%)")
    ax.set_ylabel(f"PER (%), bbs fixed16<{FIXED_FRAC}>")
    ax.set_title("Phone error rate against sparsity (filled: test, open: cross)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus")
    p.add_argument("study")
    p.add_argument("--phase", choices=("train", "calibrate", "eval", "report"), required=True)
    p.add_argument("--runs", help="comma-separated run names (default: all of RUNS)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--bbs", help="the bbs tool (calibrate, eval)")
    p.add_argument("--json")
    p.add_argument("--plot")
    a = p.parse_args(argv)
    runs = a.runs.split(",") if a.runs else list(RUNS)
    unknown = [n for n in runs if n not in RUNS]
    if unknown:
        p.error(f"unknown runs {unknown}; the study has {list(RUNS)}")
    os.makedirs(a.study, exist_ok=True)
    if a.phase == "train":
        train(a.corpus, a.study, runs, a.jobs)
    elif a.phase == "calibrate":
        calibrate(a.corpus, a.study, runs, speech_eval.find_bbs(a.bbs))
    elif a.phase == "eval":
        evaluate(a.corpus, a.study, runs, speech_eval.find_bbs(a.bbs), a.jobs)
    else:
        rows = collect(a.study, runs)
        print(report(rows))
        if a.json:
            with open(a.json, "w", encoding="utf-8") as f:
                json.dump({"fixed_frac": FIXED_FRAC, "stack": STACK, "dense_epochs": DENSE_EPOCHS,
                           "prune_epochs": PRUNE_EPOCHS, "runs": rows}, f, indent=1)
        if a.plot:
            plot(rows, a.plot)


if __name__ == "__main__":
    main()
