"""Tracker modules render through openmpt123, which writes <input>.wav beside its input; two
files decode at a time (prepare_v2.stage_decode), so each render needs a folder of its own."""
import concurrent.futures
import pathlib
import sys
import time

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "data"))
sys.path.insert(0, str(ROOT))
import prepare_v2  # noqa: E402


def test_two_tracker_renders_at_once_keep_their_own_files(tmp_path, monkeypatch):
    monkeypatch.setattr(prepare_v2, "CACHE", tmp_path)

    def fake_openmpt123(cmd, cwd=None, **kw):
        # Like openmpt123 --render: <module>.wav beside the module, here a constant level that
        # says which module it came from; slow enough that the two renders overlap.
        module = pathlib.Path(cmd[-1])
        level = float(module.read_bytes().decode())
        time.sleep(0.3)
        sf.write(str(module) + ".wav", np.full((4410, 2), level, dtype=np.float32), 44100)
        time.sleep(0.3)

    monkeypatch.setattr(prepare_v2.subprocess, "run", fake_openmpt123)
    items = [({"tracker": True, "file": f"song{i}.it"}, f"{0.1 * (i + 1):.1f}".encode()) for i in range(4)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda a: prepare_v2.decode(*a), items))
    for i, (x, sr) in enumerate(results):
        assert sr == 44100
        assert np.allclose(x, 0.1 * (i + 1), atol=1e-4), i
    assert list(tmp_path.iterdir()) == []        # every render folder is removed
