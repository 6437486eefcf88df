"""The bandwidth estimator of corpus v2: steep edges are cutoffs, natural roll-off is full band."""
import pathlib
import sys

import numpy as np
import pytest
from scipy import signal

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from restore_train.bandwidth import bandwidth_hz, full_band  # noqa: E402

SR = 44100


def white(n=SR * 8, seed=0):
    return np.random.default_rng(seed).standard_normal(n) * 0.1


def pink(n=SR * 8, seed=1):
    x = np.random.default_rng(seed).standard_normal(n)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec = np.fft.rfft(x) / np.sqrt(np.maximum(f, 20.0))
    y = np.fft.irfft(spec, n)
    return 0.1 * y / y.std()


def test_white_noise_is_full_band():
    assert bandwidth_hz(white(), SR) == SR / 2


def test_pink_noise_is_full_band():
    assert bandwidth_hz(pink(), SR) == SR / 2


@pytest.mark.parametrize("order", [1, 2, 3])
def test_gentle_rolloff_is_full_band(order):
    # 6, 12 and 18 dB/octave above 3 kHz: 40+ dB down at Nyquist, but no edge.
    sos = signal.butter(order, 3000, fs=SR, output="sos")
    assert bandwidth_hz(signal.sosfilt(sos, pink()), SR) == SR / 2


def test_steep_fir_at_4k():
    h = signal.firwin(1023, 4000, fs=SR, window=("kaiser", 10))
    bw = bandwidth_hz(signal.lfilter(h, 1, pink()), SR)
    assert abs(bw - 4000) <= 200


def test_steep_fir_at_4k_of_white_noise():
    h = signal.firwin(1023, 4000, fs=SR, window=("kaiser", 10))
    bw = bandwidth_hz(signal.lfilter(h, 1, white()), SR)
    assert abs(bw - 4000) <= 200


def test_resampled_from_16k_lands_near_its_nyquist():
    x16 = signal.resample_poly(pink(), 160, 441)          # content at 16 kHz ...
    x = signal.resample_poly(x16, 441, 160)               # ... played back at 44.1 kHz
    bw = bandwidth_hz(x, SR)
    assert 7000 <= bw <= 8000
    assert not full_band(7000)


def test_mp3_like_cutoff_at_16k():
    h = signal.firwin(511, 16000, fs=SR, window=("kaiser", 8))
    bw = bandwidth_hz(signal.lfilter(h, 1, white()), SR)
    assert abs(bw - 16000) <= 800
    assert full_band(bw)


def test_native_16k_is_its_nyquist_and_silence_is_full_band():
    assert bandwidth_hz(np.random.default_rng(3).standard_normal(16000 * 4), 16000) == 8000
    assert bandwidth_hz(np.zeros(SR), SR) == SR / 2


def test_cutoff_with_noise_floor():
    # An edge at 5 kHz above a noise floor 40 dB down is still a cutoff.
    h = signal.firwin(1023, 5000, fs=SR, window=("kaiser", 10))
    x = signal.lfilter(h, 1, pink()) + 0.001 * white(seed=7)
    assert abs(bandwidth_hz(x, SR) - 5000) <= 250


def test_full_band_rule():
    assert full_band(11025) and full_band(22050) and full_band(7500)
    assert not full_band(4000)
    assert full_band(18000, 44100) and full_band(11025, 22050)
    assert not full_band(8000, 16000)       # 16 kHz telephone prompts are not BWE targets


def test_a_beep_or_a_low_rumble_is_not_a_cutoff():
    t = np.arange(SR * 2) / SR
    assert bandwidth_hz(0.5 * np.sin(2 * np.pi * 660 * t), SR) == SR / 2
    h = signal.firwin(1023, 600, fs=SR, window=("kaiser", 10))
    assert bandwidth_hz(signal.lfilter(h, 1, pink()), SR) == SR / 2


def test_a_vowel_like_resonance_is_not_a_cutoff():
    # Harmonics of 150 Hz under a formant envelope falling ~30 dB over an octave above 800 Hz.
    t = np.arange(SR * 2) / SR
    x = sum((1.0 if k * 150 < 800 else (800 / (k * 150)) ** 5) * np.sin(2 * np.pi * k * 150 * t) for k in range(1, 140))
    x = x / np.abs(x).max() * 0.5 + 1e-4 * white(len(t))
    assert bandwidth_hz(x, SR) == SR / 2
