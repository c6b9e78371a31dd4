#!/usr/bin/python3
"""Phone error rate of a bbs speech model, measured by `bbs transcribe` (C++, streaming).

  scripts/speech-eval MODEL.bbsm (DIR | SPLIT.tsv) [--type float32|fixed16<F>] [--backend NAME]
      [--voice en-us] [--bbs PATH] [--jobs N] [--limit N] [--json OUT.json] [--quiet]

DIR holds NAME.wav + NAME.txt pairs. The reference phones of NAME.wav are NAME.phones if it
exists (space-separated phones of tools/speech/phones.py), otherwise NAME.txt's text through
espeak-ng (--voice) and the phone folding that made the training labels (docs/SPEECH.md).
SPLIT.tsv is a split of a corpus from make_speech_corpus.py; its `phones` column is the reference.

Each utterance runs through `bbs transcribe MODEL NAME.wav --quiet`, whose last stdout line is
the recognized phones. PER is the summed edit distance over the summed reference length. The
last line printed is `PER <percent>% over <n> utterances`; --json writes every utterance's
reference, hypothesis and errors."""
import argparse
import concurrent.futures
import csv
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import phones  # noqa: E402


def edit_distance(a, b):
    """Levenshtein distance between two sequences (substitutions, insertions, deletions cost 1)."""
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, row[j] = row[j], cur
    return row[len(b)]


def utterances(source, voice, limit=0):
    """[(name, wav path, reference phones)] of a folder of NAME.wav + NAME.txt or a corpus split TSV."""
    out = []
    if os.path.isdir(source):
        for name in sorted(f[:-4] for f in os.listdir(source) if f.endswith(".wav")):
            base = os.path.join(source, name)
            if os.path.exists(base + ".phones"):
                with open(base + ".phones", encoding="utf-8") as f:
                    ref = f.read().split()
            elif os.path.exists(base + ".txt"):
                with open(base + ".txt", encoding="utf-8") as f:
                    ref = phones.espeak_phones(f.read().strip(), voice)
            else:
                raise SystemExit(f"speech-eval: {base}.wav has neither {name}.txt nor {name}.phones beside it")
            unknown = [p for p in ref if p not in phones.PHONES]
            if unknown:
                raise SystemExit(f"speech-eval: {base}: phones {unknown} are not in tools/speech/phones.py")
            out.append((name, base + ".wav", ref))
    elif source.endswith(".tsv") and os.path.isfile(source):
        with open(source, encoding="utf-8") as f:
            for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                out.append((r["id"], os.path.join(os.path.dirname(source), r["wav"]), r["phones"].split()))
    else:
        raise SystemExit(f"speech-eval: {source}: neither a folder nor a corpus split (.tsv)")
    if not out:
        raise SystemExit(f"speech-eval: {source}: no utterances")
    return out[:limit] if limit else out


def find_bbs(given):
    if given:
        return given
    built = os.path.join(HERE, "..", "..", "build", "tools", "bbs", "bbs")
    return os.environ.get("BBS") or (built if os.path.exists(built) else shutil.which("bbs") or "bbs")


def transcribe(bbs, model, wav, options):
    """The recognized phones and the reported (audio seconds, real-time factor) of one utterance."""
    r = subprocess.run([bbs, "transcribe", model, wav] + options, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"speech-eval: bbs transcribe {wav} failed ({r.returncode}): {r.stderr.strip()}")
    lines = r.stdout.splitlines()
    m = re.search(r"([0-9.]+) s of audio.*real-time factor ([0-9.]+), per-step latency median ([0-9.]+) us, "
                  r"p99 ([0-9.]+) us", r.stderr)
    timing = {"seconds": float(m.group(1)), "rtf": float(m.group(2)), "median_us": float(m.group(3)),
              "p99_us": float(m.group(4))} if m else None
    return (lines[-1].split() if lines else []), timing


def evaluate(model, source, type_name="float32", backend=None, voice="en-us", bbs=None, jobs=1, limit=0,
             log=print):
    """{'per', 'errors', 'phones', 'utterances', 'real_time_factor', 'results': [...]}"""
    bbs = find_bbs(bbs)
    options = ["--type", type_name] + (["--backend", backend] if backend else [])
    todo = utterances(source, voice, limit)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(lambda u: transcribe(bbs, model, u[1], options), todo))
    results, errors, total, busy, audio = [], 0, 0, 0.0, 0.0
    for (name, _, ref), (hyp, timing) in zip(todo, done):
        e = edit_distance(hyp, ref)
        errors += e
        total += len(ref)
        if timing:
            busy += timing["rtf"] * timing["seconds"]
            audio += timing["seconds"]
        results.append({"name": name, "reference": " ".join(ref), "recognized": " ".join(hyp), "errors": e,
                        "timing": timing})
        if log:
            log(f"{name}\t{e}/{len(ref)}\t{' '.join(hyp)}")
    return {"model": model, "source": source, "type": type_name, "backend": backend, "per": errors / max(total, 1),
            "errors": errors, "phones": total, "utterances": len(results),
            "real_time_factor": busy / audio if audio else None, "results": results}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("source", help="a folder of NAME.wav + NAME.txt, or a corpus split .tsv")
    p.add_argument("--type", default="float32")
    p.add_argument("--backend")
    p.add_argument("--voice", default="en-us", help="espeak-ng voice that phonemizes NAME.txt (default en-us)")
    p.add_argument("--bbs", help="the bbs tool (default: $BBS, build/tools/bbs/bbs, or bbs on PATH)")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="the first N utterances only")
    p.add_argument("--json", help="write every utterance's result here")
    p.add_argument("--quiet", action="store_true", help="print the PER line only")
    a = p.parse_args(argv)
    r = evaluate(a.model, a.source, a.type, a.backend, a.voice, a.bbs, a.jobs, a.limit,
                 log=None if a.quiet else print)
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=1)
        os.replace(tmp, a.json)
    if r["real_time_factor"] is not None and not a.quiet:
        print(f"real-time factor {r['real_time_factor']:.4f} ({a.type}, {a.backend or 'default backend'}, "
              f"{a.jobs} job{'s' if a.jobs > 1 else ''})")
    print(f"PER {100 * r['per']:.2f}% over {r['utterances']} utterances")
    return r


if __name__ == "__main__":
    main()
