"""The numpy front end used for training data matches the committed golden fixtures."""
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from restore_train import mel  # noqa: E402

FIX = ROOT.parent / "Tests" / "RestoreCoreTests" / "Fixtures" / "frontend"
NAMES = ["chirp", "noise", "silence", "tone1k"]


def rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)


def test_filterbank_matches_librosa_fixture():
    fb = np.load(FIX / "filterbank.npy")
    assert fb.shape == (80, 513)
    assert np.abs(mel.mel_filterbank() - fb).max() <= 1e-6 * np.abs(fb).max()


@pytest.mark.parametrize("name", NAMES)
def test_float32_front_end_matches_fixture(name):
    # Training data is prepared in float32; it must agree with the float64 reference.
    x = np.load(FIX / f"{name}.signal.npy")
    ref = np.load(FIX / f"{name}.mel.npy")
    got = mel.magnitude_mel(x, dtype=np.float32)
    assert got.shape == ref.shape == (80, 1 + (len(x) + 768 - 1024) // 256)
    assert rel(got, ref) < 1e-4


@pytest.mark.parametrize("name", ["chirp", "noise"])
def test_normalisation_round_trip(name):
    n = np.load(FIX / f"{name}.normalized.npy")
    ln = np.load(FIX / f"{name}.logmel.npy")
    inside = (n > -1) & (n < 1)   # clipping is not invertible
    assert inside.mean() > 0.2
    assert np.abs(mel.denormalize_to_log_mel(n)[inside] - ln[inside]).max() < 1e-4


def test_silence_is_the_floor():
    n = mel.normalized_mel(np.zeros(22050, dtype=np.float32))
    assert np.all(n == -1.0)
