import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "data"))
from restore_train.gm import GM_FAMILIES, GM_PROGRAM_NAMES, family_of  # noqa: E402
from restore_train.metrics import lsd  # noqa: E402


def test_gm_table():
    assert GM_PROGRAM_NAMES[0] == "Acoustic Grand Piano"
    assert GM_PROGRAM_NAMES[40] == "Violin" and family_of(40) == "strings"
    assert GM_PROGRAM_NAMES[73] == "Flute" and family_of(73) == "pipe"
    assert sum(len(v) for v in GM_FAMILIES.values()) == 128


def test_split_is_by_file_and_deterministic():
    import prepare
    a = [prepare.is_validation("0ad-data", f"audio/x{i}.ogg") for i in range(2000)]
    b = [prepare.is_validation("0ad-data", f"audio/x{i}.ogg") for i in range(2000)]
    assert a == b
    assert 0.05 < np.mean(a) < 0.09


def test_midi_captions():
    import prepare
    assert prepare.midi_caption({"families": ["piano"], "programs": ["Acoustic Grand Piano"], "drums": False}) == "solo acoustic grand piano music"
    assert prepare.midi_caption({"families": ["brass", "strings"], "programs": ["Trumpet", "Violin"], "drums": True}) == "music for brass and strings with drums"


def test_lsd():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(22050)
    assert lsd(x, x) == 0
    assert lsd(x, 10 * x) == 2.0 or abs(lsd(x, 10 * x) - 2.0) < 1e-9   # 10× amplitude = +2 in log10 power
    assert lsd(x, 0.5 * x + 0.5 * rng.standard_normal(22050)) > 0.1


def test_level_bias_and_envelope_error():
    from restore_train.metrics import envelope_error, level_bias
    rng = np.random.default_rng(1)
    x = rng.standard_normal(44100)
    assert abs(level_bias(x, 0.5 * x) + 6.0206) < 1e-3          # −6 dB in 4–8 kHz
    assert abs(envelope_error(x, 0.5 * x) - 6.0206) < 1e-3
    assert abs(envelope_error(x, 2 * x, signed=True) - 6.0206) < 1e-3
    assert envelope_error(x, x) == 0
    # A band that follows the reference frame by frame beats one at the right mean level only.
    env = np.repeat(rng.uniform(0.1, 1, 44), 1024)[:44100]
    ref = x * env
    flat = x * np.sqrt(np.mean(env ** 2))
    assert envelope_error(ref, ref * 1.01) < envelope_error(ref, flat)
