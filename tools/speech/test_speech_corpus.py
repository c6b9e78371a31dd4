#!/usr/bin/python3
"""Tests of the speech corpus builder (tools/speech): the phone folding, the sentence filter and
splits, the noise mixing, and a tiny corpus built end to end twice (deterministic, held-out
voices and sentences, 16 kHz mono 16-bit WAV, labels in the phone set).
Run: /usr/bin/python3 tools/speech/test_speech_corpus.py   (needs espeak-ng, flite, sox, fortunes)"""
import csv
import filecmp
import os
import shutil
import sys
import tempfile
import unittest
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_speech_corpus as msc  # noqa: E402
import phones  # noqa: E402
import sentences  # noqa: E402


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


class Phones(unittest.TestCase):
    def test_the_set_is_timit_folded_without_silence(self):
        self.assertEqual(len(phones.PHONES), 38)
        self.assertEqual(len(set(phones.PHONES)), 38)
        for gone in ("ao", "ax", "zh", "sil", "h#"):
            self.assertNotIn(gone, phones.PHONES)

    def test_the_cpp_list_is_this_list(self):
        import re
        header = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include", "bbs", "speech",
                              "phones.hpp")
        with open(header, encoding="utf-8") as f:
            text = f.read()
        body = text[text.index("phones = {"):text.index("};", text.index("phones = {"))]
        self.assertEqual(tuple(re.findall(r'"([a-z]+)"', body)), phones.PHONES)

    def test_every_map_lands_in_the_set(self):
        for table in (phones.ESPEAK_IPA, phones.CMU):
            for symbol, mapped in table.items():
                for p in [] if mapped is None else [mapped] if isinstance(mapped, str) else mapped:
                    self.assertIn(p, phones.PHONES, symbol)

    def test_folding(self):
        self.assertEqual(phones.fold_espeak_ipa("ð_ə k_w_ˈɪ_k\nˌoʊ_v_ɚ"), ["dh", "ah", "k", "w", "ih", "k", "ow", "v", "er"])
        self.assertEqual(phones.fold_espeak_ipa("h_ˈɑːɹ_d w_ˈɔː_t_ə__ː"), ["hh", "aa", "r", "d", "w", "aa", "t", "ah"])
        self.assertEqual(phones.fold_espeak_ipa("m_ˈɛ_ʒ_ə b_ˈɪə_d"), ["m", "eh", "sh", "ah", "b", "ih", "ah", "d"])
        self.assertEqual(phones.fold_cmu("pau dh ax m eh zh er ao pau"), ["dh", "ah", "m", "eh", "sh", "er", "aa"])

    def test_an_unknown_symbol_is_named(self):
        with self.assertRaisesRegex(phones.UnknownPhone, "'ʙ'"):
            phones.fold_espeak_ipa("ʙ_a")
        with self.assertRaisesRegex(phones.UnknownPhone, "'qq'"):
            phones.fold_cmu("pau qq")


class Sentences(unittest.TestCase):
    def test_filter(self):
        self.assertTrue(sentences.usable("The early worm gets the bird."))
        self.assertFalse(sentences.usable("Too short."))
        self.assertFalse(sentences.usable("The NASA budget is large, they say."))  # read letter by letter
        self.assertFalse(sentences.usable("A fool and his money are soon parted -- Anonymous."))
        self.assertFalse(sentences.usable("It costs $5 to see the show today."))
        self.assertFalse(sentences.usable("No end mark at the end of this one"))

    def test_splits_are_disjoint_and_stable(self):
        pool = sentences.load_sentences()
        self.assertGreater(len(pool), 1000)
        a, b = msc.sentence_splits(pool), msc.sentence_splits(list(reversed(pool)))
        self.assertEqual({k: sorted(v) for k, v in a.items()}, {k: sorted(v) for k, v in b.items()})
        self.assertFalse(set(a["train"]) & set(a["test"]) or set(a["val"]) & set(a["test"]) or
                         set(a["train"]) & set(a["val"]))
        self.assertGreater(len(a["test"]), 100)

    def test_test_voices_are_never_heard_in_training(self):
        train, test = msc.voices(False), msc.voices(True)
        self.assertTrue(train and test)
        for v in train:
            accent, variant = v.split("+")
            self.assertNotIn(accent, msc.HELD_OUT_ACCENTS)
            self.assertNotIn(variant, msc.HELD_OUT_VARIANTS)
        for v in test:
            accent, variant = v.split("+")
            self.assertIn(accent, msc.HELD_OUT_ACCENTS)
            self.assertIn(variant, msc.HELD_OUT_VARIANTS)


class Noise(unittest.TestCase):
    def test_mixing_hits_the_snr(self):
        rng = np.random.default_rng(3)
        clean = np.sin(np.linspace(0, 400, 16000)) * 0.3
        for snr in (20.0, 10.0, 5.0):
            for kind in ("white", "pink"):
                noisy = msc.add_noise(clean, snr, kind, rng)
                measured = 10 * np.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2))
                self.assertAlmostEqual(measured, snr, places=6)

    def test_pink_noise_has_more_low_than_high_frequency_power(self):
        rng = np.random.default_rng(4)
        for kind, low_over_high in (("pink", 10.0), ("white", None)):
            power = np.abs(np.fft.rfft(msc.noise(kind, 1 << 16, rng))) ** 2
            ratio = power[1:power.size // 8].mean() / power[-power.size // 8:].mean()
            if low_over_high is None:
                self.assertLess(abs(np.log(ratio)), 0.2)
            else:
                self.assertGreater(ratio, low_over_high)


class Corpus(unittest.TestCase):
    def setUp(self):
        for tool in ("espeak-ng", "flite", "sox"):
            if shutil.which(tool) is None:
                self.fail(f"{tool} is not installed: run scripts/install-deps")
        self.tmp = tempfile.mkdtemp(prefix="bbs_speech_test_")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def build(self, name, jobs):
        out = os.path.join(self.tmp, name)
        msc.main([out, "--train", "3", "--val", "1", "--test", "2", "--cross", "2", "--seed", "5", "--jobs", str(jobs)])
        return out

    def test_a_tiny_corpus_is_deterministic_labelled_and_held_out(self):
        one, two = self.build("one", 1), self.build("two", 2)
        splits = msc.sentence_splits(sentences.load_sentences())
        for split, n in (("train", 3), ("val", 1), ("test", 2), ("cross", 2)):
            self.assertTrue(filecmp.cmp(os.path.join(one, f"{split}.tsv"), os.path.join(two, f"{split}.tsv"),
                                        shallow=False), split)
            rows = read_tsv(os.path.join(one, f"{split}.tsv"))
            self.assertEqual(len(rows), n)
            for r in rows:
                self.assertTrue(filecmp.cmp(os.path.join(one, r["wav"]), os.path.join(two, r["wav"]), shallow=False))
                with wave.open(os.path.join(one, r["wav"]), "rb") as w:
                    self.assertEqual((w.getframerate(), w.getnchannels(), w.getsampwidth()), (16000, 1, 2))
                    self.assertLessEqual(abs(w.getnframes() / 16000 - float(r["seconds"])), 0.0005 + 1e-9)
                labels = r["phones"].split()
                self.assertGreater(len(labels), 3)
                self.assertTrue(set(labels) <= set(phones.PHONES))
                self.assertIn(r["text"], splits["train" if split == "train" else "val" if split == "val" else "test"])
                if split == "test":
                    self.assertIn(r["voice"], msc.voices(True))
                elif split == "cross":
                    self.assertEqual(r["synth"], "flite")
                else:
                    self.assertIn(r["voice"], msc.voices(False))

    def test_the_committed_sample_is_a_valid_corpus(self):
        sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "data", "speech",
                              "sample")
        for split in ("train", "val", "test", "cross"):
            rows = read_tsv(os.path.join(sample, f"{split}.tsv"))
            self.assertEqual(len(rows), 1)
            with wave.open(os.path.join(sample, rows[0]["wav"]), "rb") as w:
                self.assertEqual((w.getframerate(), w.getnchannels(), w.getsampwidth()), (16000, 1, 2))
            self.assertTrue(set(rows[0]["phones"].split()) <= set(phones.PHONES))


if __name__ == "__main__":
    unittest.main()
