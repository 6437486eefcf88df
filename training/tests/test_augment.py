"""The training variants (restore_train/augment.py): what moves, what stays silence."""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from restore_train.augment import VARIANTS, real_columns, variant_mel  # noqa: E402


def _mel(seed=0):
    rng = np.random.default_rng(seed)
    mel = rng.uniform(-0.9, 0.9, (2, 80, 848)).astype(np.float16)
    mel[:, :, 800:] = -1                                  # padding silence at the end
    mel[:, 70:, :] = -1                                   # a band-limited top
    return mel


def test_variant_zero_is_the_clip():
    mel = _mel()
    assert VARIANTS[0] == (0, 0.0)
    np.testing.assert_array_equal(variant_mel(mel, 0, 0.0, -100.0), mel)


def test_shift_moves_audio_earlier_and_pads_with_silence():
    mel = _mel()
    out = variant_mel(mel, 8, 0.0, -100.0)
    np.testing.assert_array_equal(out[..., :840], mel[..., 8:])
    assert (out[..., 840:] == -1).all()
    assert out.dtype == mel.dtype and out.shape == mel.shape


def test_gain_moves_levels_by_decibels_and_keeps_silence_silent():
    mel = _mel()
    up = variant_mel(mel, 0, 6.0, -100.0)
    step = 2 * 6.0 / 120                                  # [-1, 1] spans 120 dB
    sound = mel > -1
    np.testing.assert_allclose(up[sound].astype(np.float32), np.clip(mel[sound].astype(np.float32) + step, -1, 1), atol=1e-3)
    assert (up[~sound] == -1).all()                       # the band-limited top and padding stay floor
    down = variant_mel(mel, 0, -6.0, -100.0)
    assert (down <= mel).all() and (down >= -1).all()


def test_real_columns_follow_the_shift():
    assert real_columns(10.0, 0) == 53
    assert real_columns(1.0, 0) == 6                      # 86.1 frames
    assert real_columns(1.0, 12) == 5                     # 74.1 frames
    assert real_columns(0.01, 12) == 1                    # never fewer than one column
