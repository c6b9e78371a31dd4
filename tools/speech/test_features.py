#!/usr/bin/python3
"""Tests of tools/speech/features.py, the log-mel definition the C++ features match: against a
direct evaluation of the formulas (a DFT by its sum, filters by their corner frequencies), frame
counts, and the committed fixtures of test/data/speech/sample (what the C++ test compares with).
Run: /usr/bin/python3 tools/speech/test_features.py"""
import glob
import math
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features as fe  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "data", "speech", "sample")


def direct_log_mel_frame(x, t):
    """Frame t of the features, by the formulas one term at a time."""
    frame = [x[t * fe.HOP + n] * (0.5 - 0.5 * math.cos(2 * math.pi * n / fe.WINDOW)) for n in range(fe.WINDOW)]
    power = []
    for k in range(fe.FFT_SIZE // 2 + 1):
        re = sum(v * math.cos(2 * math.pi * k * n / fe.FFT_SIZE) for n, v in enumerate(frame))
        im = -sum(v * math.sin(2 * math.pi * k * n / fe.FFT_SIZE) for n, v in enumerate(frame))
        power.append(re * re + im * im)
    mel = lambda f: 2595 * math.log10(1 + f / 700)  # noqa: E731
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    top = mel(8000.0)
    corners = [hz(top * i / (fe.BANDS + 1)) for i in range(fe.BANDS + 2)]
    out = []
    for m in range(fe.BANDS):
        energy = 0.0
        for k, p in enumerate(power):
            f = 16000 * k / fe.FFT_SIZE
            rise = (f - corners[m]) / (corners[m + 1] - corners[m])
            fall = (corners[m + 2] - f) / (corners[m + 2] - corners[m + 1])
            energy += max(0.0, min(rise, fall)) * p
        out.append(math.log(max(energy, 1e-10)))
    return out


class LogMel(unittest.TestCase):
    def test_matches_the_formulas(self):
        rng = np.random.default_rng(7)
        x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(1200) / 16000) + 0.01 * rng.standard_normal(1200)
        got = fe.log_mel(x)
        self.assertEqual(got.shape, (1 + (1200 - 400) // 160, 40))
        for t in (0, got.shape[0] - 1):
            want = direct_log_mel_frame(x, t)
            np.testing.assert_allclose(got[t], np.float32(want), rtol=2e-6, atol=2e-6)

    def test_frame_counts_and_silence(self):
        self.assertEqual(fe.num_frames(399), 0)
        self.assertEqual(fe.num_frames(400), 1)
        self.assertEqual(fe.num_frames(559), 1)
        self.assertEqual(fe.num_frames(560), 2)
        self.assertEqual(fe.log_mel(np.zeros(100)).shape, (0, 40))
        np.testing.assert_array_equal(fe.log_mel(np.zeros(800)), np.float32(math.log(1e-10)))

    def test_filterbank_triangles_peak_at_one_and_cover_the_band(self):
        fb = fe.filterbank()
        self.assertEqual(fb.shape, (40, 257))
        self.assertTrue(np.all(fb >= 0) and np.all(fb.max(axis=1) <= 1.0))
        self.assertTrue(np.all(fb.max(axis=1) > 0.5))
        self.assertTrue(np.all(fb[:, 1:256].sum(axis=0) > 0))  # every bin inside (0, 8000) Hz is heard

    def test_committed_fixtures_are_these_features(self):
        wavs = sorted(glob.glob(os.path.join(SAMPLE, "*", "*.wav")))
        self.assertEqual(len(wavs), 4)
        for wav in wavs:
            want = np.load(wav[:-4] + ".logmel.npy")
            np.testing.assert_array_equal(fe.log_mel(fe.read_wav(wav)), want, err_msg=wav)



class Stack(unittest.TestCase):
    def test_k_frames_per_row_frame_k_i_first_partial_group_dropped(self):
        frames = np.arange(11 * 3, dtype=np.float32).reshape(11, 3)  # frame t, band b: 3 t + b
        steps = fe.stack(frames, 4)
        self.assertEqual(steps.shape, (2, 12))
        for s in range(2):
            for j in range(4):
                np.testing.assert_array_equal(steps[s, 3 * j:3 * j + 3], frames[4 * s + j])
        np.testing.assert_array_equal(fe.stack(frames, 1), frames)
        self.assertEqual(fe.stack(frames[:3], 4).shape, (0, 12))
        with self.assertRaises(ValueError):
            fe.stack(frames, 0)

if __name__ == "__main__":
    unittest.main()
