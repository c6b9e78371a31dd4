#!/usr/bin/python3
"""The speech part of scripts/demo: a few freshly synthesized held-out utterances (voices and
sentences never heard in training, and one from another synthesizer) streamed by `bbs transcribe`
through the shipped recognizers, BBS against dense. Prints each utterance's reference and the
recognized phones, then PER and per-step latency per model, value type and backend.

  /usr/bin/python3 tools/speech/demo_speech.py BBS_TOOL OUT_DIR [--test 3] [--cross 1]"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, HERE)
import speech_eval  # noqa: E402

MODELS = (("BBS", "speech_bbs.bbsm"), ("dense", "speech_dense.bbsm"))
BACKENDS = ("simd", "openmp", "reference")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bbs")
    p.add_argument("out")
    p.add_argument("--test", type=int, default=3)
    p.add_argument("--cross", type=int, default=1)
    a = p.parse_args(argv)
    with open(os.path.join(ROOT, "models", "speech.fixed_type"), encoding="utf-8") as f:
        fixed = f.read().strip()
    subprocess.run([sys.executable, os.path.join(HERE, "make_speech_corpus.py"), a.out, "--train", "0", "--val", "0",
                    "--test", str(a.test), "--cross", str(a.cross), "--seed", "7", "--jobs", "2"],
                   check=True, stdout=subprocess.DEVNULL)
    splits = [os.path.join(a.out, s + ".tsv") for s in ("test", "cross") if getattr(a, s) > 0]
    runs = {}
    for label, file in MODELS:
        for type_name in ("float32", fixed):
            for backend in BACKENDS:
                try:
                    results = [speech_eval.evaluate(os.path.join(ROOT, "models", file), tsv, type_name, backend,
                                                    bbs=a.bbs, log=None) for tsv in splits]
                except SystemExit as e:
                    if "not a backend of this build" in str(e):
                        continue
                    raise
                runs[(label, type_name, backend)] = [u for r in results for u in r["results"]]
    utterances = runs[("BBS", fixed, BACKENDS[0])]
    for i, u in enumerate(utterances):
        print(f"\n{u['name']}")
        print(f"  reference:              {u['reference']}")
        for label, _ in MODELS:
            for type_name in ("float32", fixed):
                got = runs[(label, type_name, BACKENDS[0])][i]
                ref_len = len(got["reference"].split())
                print(f"  {label + ' ' + type_name + ':':23} {got['recognized']}   "
                      f"({got['errors']} errors / {ref_len} phones)")
    print("\n| model | type | backend | PER | per-step latency, median | p99 | real-time factor |")
    print("|---|---|---|---|---|---|---|")
    for (label, type_name, backend), us in runs.items():
        errors = sum(u["errors"] for u in us)
        total = sum(len(u["reference"].split()) for u in us)
        timing = [u["timing"] for u in us if u["timing"]]
        median = statistics.median(t["median_us"] for t in timing)
        p99 = max(t["p99_us"] for t in timing)
        rtf = sum(t["rtf"] * t["seconds"] for t in timing) / sum(t["seconds"] for t in timing)
        print(f"| {label} | {type_name} | {backend} | {100 * errors / total:.1f} % | {median:.1f} us | "
              f"{p99:.1f} us | {rtf:.4f} |")
    print(f"\n{len(utterances)} utterances, streamed 10 ms at a time; latency: one 10 ms push that completes a model "
          "step (40 ms of audio), features included")


if __name__ == "__main__":
    main()
