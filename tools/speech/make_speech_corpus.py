#!/usr/bin/python3
"""Builds the speech corpus of docs/SPEECH.md from Debian packages alone: English sentences from the
fortune databases (fortunes), spoken by espeak-ng voices (accent + variant, random rate and pitch),
resampled and speed-perturbed by sox, mixed with white or pink noise at a random SNR, and labelled
with the phones the synthesizer speaks, folded to TIMIT's 38 speech phones (phones.py).

Splits (every utterance draws its sentence, voice and augmentation from a generator seeded by
--seed, the split and its index, so the corpus does not depend on --jobs):
  train  train sentences, train voices
  val    validation sentences, train voices
  test   held-out sentences, held-out voices (accents and variants never heard in training)
  cross  held-out sentences, flite voices (another synthesizer)

Usage:
  /usr/bin/python3 tools/speech/make_speech_corpus.py OUT [--train N --val N --test N --cross N]
      [--seed S] [--jobs J]
  /usr/bin/python3 tools/speech/make_speech_corpus.py OUT --sample   (1 utterance per split; what
      test/data/speech/sample holds)

OUT gets <split>/<id>.wav (16 kHz, mono, 16-bit), <split>.tsv (one utterance per line: id, wav,
synthesizer, voice, rate, pitch, speed, noise, snr_db, seconds, text, phones) and corpus.json (the
settings and counts). Needs espeak-ng, flite, sox and fortunes (scripts/install-deps)."""
import argparse
import hashlib
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features  # noqa: E402
import phones  # noqa: E402
import sentences  # noqa: E402

SAMPLE_RATE = features.SAMPLE_RATE  # the rate the features are defined at
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2",
                   "klatt3", "croak", "Andy", "Annie", "Denis", "Gene", "Jacky", "Lee", "Mike", "Storm", "adam",
                   "anika")
# Never heard in training: the test split's voices combine these accents and variants only.
HELD_OUT_ACCENTS = ("en-gb-x-gbcwmd", "en-029")
HELD_OUT_VARIANTS = ("f4", "m6", "klatt3", "Storm", "anika")
FLITE_VOICES = ("kal16", "slt", "rms", "awb")
SNRS_DB = (None, 20.0, 10.0, 5.0)  # None: clean
COLUMNS = ("id", "wav", "synth", "voice", "rate", "pitch", "speed", "noise", "snr_db", "seconds", "text", "phones")


def voices(held_out):
    """espeak-ng voices (accent+variant) of the training or of the test split."""
    accents = [a for a in ESPEAK_ACCENTS if (a in HELD_OUT_ACCENTS) == held_out]
    variants = [v for v in ESPEAK_VARIANTS if (v in HELD_OUT_VARIANTS) == held_out]
    return [f"{a}+{v}" for a in accents for v in variants]


def sentence_splits(all_sentences, val_fraction=0.08, test_fraction=0.12):
    """Sentences per split, by a hash of the text: stable when the databases gain sentences."""
    out = {"train": [], "val": [], "test": []}
    for s in all_sentences:
        h = int(hashlib.sha256(s.lower().encode()).hexdigest()[:8], 16) / 2**32
        out["test" if h < test_fraction else "val" if h < test_fraction + val_fraction else "train"].append(s)
    return out


def write_wav(path, samples):
    """16-bit mono at SAMPLE_RATE, samples in [-1, 1) (clipped), written atomically."""
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")
    tmp = f"{path}.tmp{os.getpid()}"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    os.replace(tmp, path)


def noise(kind, n, rng):
    """White or pink (1/f power) Gaussian noise of unit RMS."""
    white = rng.standard_normal(n)
    if kind == "pink":
        spectrum = np.fft.rfft(white)
        f = np.arange(spectrum.size, dtype=np.float64)
        f[0] = 1.0
        white = np.fft.irfft(spectrum / np.sqrt(f), n)
    return white / max(np.sqrt(np.mean(white**2)), 1e-12)


def add_noise(clean, snr_db, kind, rng):
    """clean plus noise scaled so that 10 log10(P(clean) / P(noise)) = snr_db."""
    power = np.mean(clean**2)
    return clean + noise(kind, clean.size, rng) * np.sqrt(power / 10 ** (snr_db / 10))


def synthesize(u, tmp):
    """The clean 16 kHz samples of utterance u (a dict from plan())."""
    raw = os.path.join(tmp, "raw.wav")
    if u["synth"] == "espeak-ng":
        cmd = ["espeak-ng", "-v", u["voice"], "-s", str(u["rate"]), "-p", str(u["pitch"]), "-w", raw, u["text"]]
    else:
        cmd = ["flite", "-voice", u["voice"], "-t", u["text"], "-o", raw]
    subprocess.run(cmd, check=True, capture_output=True)
    out = os.path.join(tmp, "16k.wav")
    # -D: no dither, so the same settings give the same bytes.
    subprocess.run(["sox", "-D", raw, "-b", "16", "-c", "1", out, "speed", f"{u['speed']:.3f}", "rate", "-v",
                    str(SAMPLE_RATE)], check=True, capture_output=True)
    return features.read_wav(out)  # checks 16-bit mono at SAMPLE_RATE


def plan(split, index, seed, pools):
    """Sentence, voice and augmentation of utterance `index` of `split`."""
    rng = random.Random(f"{seed}:{split}:{index}")
    text = rng.choice(pools["sentences"]["train" if split == "train" else "val" if split == "val" else "test"])
    if split == "cross":
        synth, voice, rate, pitch = "flite", rng.choice(FLITE_VOICES), 0, 0
    else:
        synth = "espeak-ng"
        voice = rng.choice(pools["test_voices"] if split == "test" else pools["train_voices"])
        rate, pitch = rng.randint(130, 200), rng.randint(25, 75)
    snr = rng.choice(SNRS_DB)
    return {"id": f"{split}_{index:05d}", "split": split, "synth": synth, "voice": voice, "rate": rate,
            "pitch": pitch, "speed": round(rng.uniform(0.9, 1.1), 3), "noise": "none" if snr is None else
            rng.choice(("white", "pink")), "snr_db": snr, "text": text, "noise_seed": rng.getrandbits(32)}


def make(args):
    u, out_dir = args
    with tempfile.TemporaryDirectory(prefix="bbs_speech_") as tmp:
        samples = synthesize(u, tmp)
    if u["snr_db"] is not None:
        samples = add_noise(samples, u["snr_db"], u["noise"], np.random.default_rng(u["noise_seed"]))
    wav = os.path.join(u["split"], u["id"] + ".wav")
    write_wav(os.path.join(out_dir, wav), samples)
    label = phones.espeak_phones(u["text"], u["voice"]) if u["synth"] == "espeak-ng" else \
        phones.flite_phones(u["text"], u["voice"])
    row = dict(u, wav=wav, seconds=round(samples.size / SAMPLE_RATE, 3), phones=" ".join(label))
    row["snr_db"] = "" if u["snr_db"] is None else u["snr_db"]
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--train", type=int, default=4000)
    p.add_argument("--val", type=int, default=400)
    p.add_argument("--test", type=int, default=400)
    p.add_argument("--cross", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--sample", action="store_true", help="one utterance per split (test/data/speech/sample)")
    a = p.parse_args(argv)
    counts = {"train": a.train, "val": a.val, "test": a.test, "cross": a.cross}
    if a.sample:
        counts = {k: 1 for k in counts}
    if any(n < 0 for n in counts.values()):
        p.error("utterance counts must be >= 0")
    pools = {"sentences": sentence_splits(sentences.load_sentences()), "train_voices": voices(False),
             "test_voices": voices(True)}
    for split in counts:
        os.makedirs(os.path.join(a.out, split), exist_ok=True)
    work = [(plan(split, i, a.seed, pools), a.out) for split, n in counts.items() for i in range(n)]
    with multiprocessing.Pool(max(1, a.jobs)) as pool:
        rows = pool.map(make, work, chunksize=4)
    for split in counts:
        lines = ["\t".join(COLUMNS)]
        lines += ["\t".join(str(r[c]) for c in COLUMNS) for r in rows if r["split"] == split]
        tmp = os.path.join(a.out, f"{split}.tsv.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, os.path.join(a.out, f"{split}.tsv"))
    summary = {"seed": a.seed, "sample_rate": SAMPLE_RATE, "phones": list(phones.PHONES), "counts": counts,
               "hours": {s: round(sum(r["seconds"] for r in rows if r["split"] == s) / 3600, 3) for s in counts},
               "sentences": {k: len(v) for k, v in pools["sentences"].items()},
               "train_voices": len(pools["train_voices"]), "test_voices": len(pools["test_voices"]),
               "flite_voices": list(FLITE_VOICES), "snrs_db": [s for s in SNRS_DB if s is not None]}
    with open(os.path.join(a.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    print(f"make_speech_corpus: {sum(counts.values())} utterances in {a.out}: " +
          ", ".join(f"{s} {counts[s]} ({summary['hours'][s]:.2f} h)" for s in counts))


if __name__ == "__main__":
    main()
