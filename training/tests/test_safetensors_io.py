import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from restore_train.safetensors_io import load_safetensors, save_safetensors  # noqa: E402


def test_round_trip(tmp_path):
    t = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.ones(4, dtype=np.float16)}
    save_safetensors(tmp_path / "x.safetensors", t, {"config": "{}"})
    back, meta = load_safetensors(tmp_path / "x.safetensors")
    assert meta == {"config": "{}"}
    assert back["b"].dtype == np.float32 and np.array_equal(back["b"], t["b"])
    assert back["a"].dtype == np.float16 and np.array_equal(back["a"], t["a"])
    raw = (tmp_path / "x.safetensors").read_bytes()
    assert int.from_bytes(raw[:8], "little") % 8 == 0
