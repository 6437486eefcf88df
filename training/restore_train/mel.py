"""The mel front end of engine.md §1 in numpy: the reference the Swift runtime is tested against.

22 050 Hz, n_fft 1024, periodic Hann window of 1024, hop 256, reflect padding of
(n_fft - hop)/2 on both sides (no centring), magnitude sqrt(|X|^2 + 1e-9) as the
original HiFi-GAN code computes it, 80 slaney mel bands from 0 to 8 kHz.
"""
from __future__ import annotations

import numpy as np

SAMPLE_RATE = 22050
N_FFT = 1024
HOP = 256
N_MELS = 80
F_MIN = 0.0
F_MAX = 8000.0
MAG_EPS = 1e-9
FLOOR = 1e-5
DB_MIN, DB_MAX = -80.0, 20.0


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 15.0, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-12) / min_log_hz) / logstep, mels)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 15.0, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX) -> np.ndarray:
    """Slaney-scale, slaney-normalised triangles, (n_mels, n_fft//2+1), float64."""
    fft_freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    return weights * enorm[:, None]


def periodic_hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def magnitude_spectrogram(x: np.ndarray, dtype=np.float64) -> np.ndarray:
    """(frames, bins) magnitude of the reflect-padded STFT."""
    x = np.asarray(x, dtype=dtype)
    pad = (N_FFT - HOP) // 2
    xp = np.pad(x, (pad, pad), mode="reflect")
    frames = 1 + (len(xp) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(frames)[:, None]
    spec = np.fft.rfft(xp[idx] * periodic_hann(N_FFT).astype(dtype)[None, :], axis=1)
    return np.sqrt(spec.real ** 2 + spec.imag ** 2 + MAG_EPS).astype(dtype)


def magnitude_mel(x: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Magnitude mel M, (n_mels, frames)."""
    fb = mel_filterbank().astype(dtype)
    return fb @ magnitude_spectrogram(x, dtype).T


def log_mel(x: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Vocoder input ln(max(M, 1e-5))."""
    return np.log(np.maximum(magnitude_mel(x, dtype), FLOOR))


def normalize_db(m: np.ndarray, db_min: float = DB_MIN) -> np.ndarray:
    """clip(20·log10(max(M, floor)), db_min, 20) mapped to [-1, 1]; db_min is the tokenizer's floor."""
    db = np.clip(20 * np.log10(np.maximum(m, FLOOR)), db_min, DB_MAX)
    return 2 * (db - db_min) / (DB_MAX - db_min) - 1


def normalized_mel(x: np.ndarray, dtype=np.float64, db_min: float = DB_MIN) -> np.ndarray:
    """Tokenizer input: clipped dB mapped to [-1, 1]."""
    return normalize_db(magnitude_mel(x, dtype), db_min).astype(dtype)


def denormalize_to_log_mel(n: np.ndarray, db_min: float = DB_MIN) -> np.ndarray:
    """Inverse of the normalisation (up to clipping): [-1, 1] -> ln-mel."""
    db = (np.clip(n, -1, 1) + 1) / 2 * (DB_MAX - db_min) + db_min
    return db * np.log(10) / 20
