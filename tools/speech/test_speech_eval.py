#!/usr/bin/python3
"""Tests of tools/speech/speech_eval.py (scripts/speech-eval): references from .phones, from .txt
through espeak-ng, and from a corpus split; the PER sum; the last line; refusals. A stub stands in
for `bbs transcribe` and prints a chosen recognition, so the arithmetic is checked exactly.
Run: /usr/bin/python3 tools/speech/test_speech_eval.py   (needs espeak-ng)"""
import contextlib
import io
import json
import os
import stat
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import phones  # noqa: E402
import speech_eval  # noqa: E402

# Recognizes "hh ah l ow" whatever the audio, and reports timing as bbs transcribe does.
STUB = """#!/bin/sh
echo "0.00 s	hh"
echo "transcribe: 2.00 s of audio, 50 steps of 40 ms, float32 on simd: real-time factor 0.0100, \
per-step latency median 10.0 us, p99 20.0 us" >&2
echo "hh ah l ow"
"""


class SpeechEval(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="bbs_speech_eval_")
        self.dir = os.path.join(self.tmp.name, "audio")
        os.makedirs(self.dir)
        self.bbs = os.path.join(self.tmp.name, "bbs")
        with open(self.bbs, "w", encoding="utf-8") as f:
            f.write(STUB)
        os.chmod(self.bbs, os.stat(self.bbs).st_mode | stat.S_IXUSR)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w", encoding="utf-8") as f:
            f.write(text)

    def run_eval(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            r = speech_eval.main(["model.bbsm", self.dir, "--bbs", self.bbs] + list(args))
        return r, out.getvalue().splitlines()

    def test_per_sums_edit_distances_over_reference_lengths(self):
        self.write("a.wav", "")
        self.write("a.phones", "hh ah l ow")  # 0 errors of 4
        self.write("b.wav", "")
        self.write("b.phones", "hh eh l ow w")  # 1 substitution + 1 deletion: 2 of 5
        r, lines = self.run_eval("--json", os.path.join(self.tmp.name, "r.json"))
        self.assertEqual((r["errors"], r["phones"], r["utterances"]), (2, 9, 2))
        self.assertEqual(lines[-1], "PER 22.22% over 2 utterances")
        self.assertAlmostEqual(r["real_time_factor"], 0.01)
        self.assertEqual(r["results"][0]["timing"]["median_us"], 10.0)
        with open(os.path.join(self.tmp.name, "r.json"), encoding="utf-8") as f:
            saved = json.load(f)
        self.assertEqual([u["errors"] for u in saved["results"]], [0, 2])
        self.assertEqual(saved["results"][1]["recognized"], "hh ah l ow")

    def test_text_is_phonemized_as_the_training_labels(self):
        self.write("c.wav", "")
        self.write("c.txt", "Hello world.\n")
        r, _ = self.run_eval("--quiet")
        ref = phones.espeak_phones("Hello world.", "en-us")
        self.assertEqual(r["results"][0]["reference"], " ".join(ref))
        self.assertEqual(r["errors"], speech_eval.edit_distance("hh ah l ow".split(), ref))

    def test_a_corpus_split_uses_its_phones_column(self):
        tsv = os.path.join(self.tmp.name, "val.tsv")
        with open(tsv, "w", encoding="utf-8") as f:
            f.write("id\twav\tphones\nu0\tval/u0.wav\thh ah l ow ah\n")
        r = speech_eval.evaluate("model.bbsm", tsv, bbs=self.bbs, log=None)
        self.assertEqual((r["errors"], r["phones"]), (1, 5))

    def test_refusals_name_the_problem(self):
        self.write("d.wav", "")
        with self.assertRaisesRegex(SystemExit, "neither d.txt nor d.phones"):
            self.run_eval()
        self.write("d.phones", "hh qq")
        with self.assertRaisesRegex(SystemExit, "qq"):
            self.run_eval()
        with self.assertRaisesRegex(SystemExit, "neither a folder nor a corpus split"):
            speech_eval.evaluate("m", os.path.join(self.tmp.name, "nothing"), bbs=self.bbs, log=None)
        failing = os.path.join(self.tmp.name, "fails")
        with open(failing, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\necho 'bbs transcribe: no such model' >&2\nexit 1\n")
        os.chmod(failing, 0o755)
        self.write("d.phones", "hh")
        with self.assertRaisesRegex(SystemExit, "no such model"):
            speech_eval.evaluate("m", self.dir, bbs=failing, log=None)


if __name__ == "__main__":
    unittest.main()
