#!/usr/bin/python3
"""Log-mel filterbank features, the definition that bbs::speech::LogMel (include/bbs/speech/
features.hpp) computes in C++; docs/SPEECH.md states it. Training computes its features here,
inference in C++, and tests hold the two to float precision.

For 16 kHz samples x in [-1, 1): frame t covers x[160 t, 160 t + 400) (25 ms every 10 ms; no
padding, a partial last frame is dropped), multiplied by a periodic Hann window
0.5 - 0.5 cos(2 pi n / 400), zero-padded to 512 points; its power spectrum |FFT|^2 at bins
k = 0..256 (frequency 16000 k / 512) goes through 40 triangular mel filters (HTK mel scale
2595 log10(1 + f / 700), corners equally spaced in mel from 0 to 8000 Hz, weights evaluated at
the bin frequencies, peak 1, no area normalisation), and the feature is ln(max(energy, 1e-10)).
Everything in double; the result is float32, frames x 40.

Usage: /usr/bin/python3 tools/speech/features.py WAV...   writes WAV's features next to it, as
<name>.logmel.npy (float32, frames x 40)."""
import math
import sys

import numpy as np

SAMPLE_RATE = 16000
WINDOW = 400
HOP = 160
FFT_SIZE = 512
BANDS = 40
LOW_HZ = 0.0
HIGH_HZ = 8000.0
FLOOR = 1e-10


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def filterbank():
    """BANDS x (FFT_SIZE / 2 + 1) triangular weights."""
    corners = mel_to_hz(np.linspace(hz_to_mel(LOW_HZ), hz_to_mel(HIGH_HZ), BANDS + 2))
    bins = np.arange(FFT_SIZE // 2 + 1, dtype=np.float64) * SAMPLE_RATE / FFT_SIZE
    fb = np.zeros((BANDS, bins.size))
    for m in range(BANDS):
        lo, mid, hi = corners[m], corners[m + 1], corners[m + 2]
        fb[m] = np.maximum(0.0, np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)))
    return fb


def window():
    n = np.arange(WINDOW, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * math.pi * n / WINDOW)


def num_frames(num_samples):
    return 0 if num_samples < WINDOW else 1 + (num_samples - WINDOW) // HOP


def log_mel(samples):
    """Features of a 1-D array of samples in [-1, 1): float32, frames x BANDS."""
    x = np.asarray(samples, dtype=np.float64)
    t = num_frames(x.size)
    if t == 0:
        return np.zeros((0, BANDS), dtype=np.float32)
    frames = np.stack([x[i * HOP:i * HOP + WINDOW] for i in range(t)]) * window()
    power = np.abs(np.fft.rfft(frames, n=FFT_SIZE, axis=1)) ** 2
    return np.log(np.maximum(power @ filterbank().T, FLOOR)).astype(np.float32)


def stack(frames, k):
    """Frames k at a time: row i is frames k i .. k i + k - 1 side by side (frames / k rows of
    k x BANDS, float32). A partial group at the end is dropped, as a stream would not have it yet.
    bbs::speech::FrameStack computes the same in C++."""
    frames = np.asarray(frames, dtype=np.float32)
    if k < 1:
        raise ValueError(f"stack: k = {k}, expected at least 1")
    rows = frames.shape[0] // k
    return np.ascontiguousarray(frames[:rows * k].reshape(rows, k * frames.shape[1]))


def read_wav(path):
    """16-bit mono 16 kHz WAV as float64 samples in [-1, 1)."""
    import wave
    with wave.open(path, "rb") as w:
        if (w.getsampwidth(), w.getnchannels(), w.getframerate()) != (2, 1, SAMPLE_RATE):
            raise ValueError(f"{path}: expected 16-bit mono {SAMPLE_RATE} Hz")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0


def main(paths):
    if not paths:
        print(__doc__)
        return 2
    for path in paths:
        out = (path[:-4] if path.endswith(".wav") else path) + ".logmel.npy"
        np.save(out, log_mel(read_wav(path)))
        print(f"features: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
