"""Validation-split clips for the benchmarks (never training data): the manifest's
validation entries, loaded from the installed Debian packages / MIDI renders at 22 050 Hz."""
import collections
import json
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(ROOT / "training" / "data"))
import prepare  # noqa: E402

RESTORE = str(ROOT / ".build" / "release" / "restore")


def manifest():
    return [json.loads(l) for l in (ROOT / "training/data/manifest.jsonl").read_text().splitlines()]


def pick(lines, n, seed=0, min_duration=2.0):
    """n validation clips, cycling over the kinds (effect, midi, music, speech)."""
    rng = np.random.default_rng(seed)
    by_kind = collections.defaultdict(list)
    for e in lines:
        if e["split"] == "validation" and e["duration"] >= min_duration:
            by_kind[e["kind"]].append(e)
    kinds = sorted(by_kind)
    out, seen = [], set()
    for i in range(n):
        pool = by_kind[kinds[i % len(kinds)]]
        for _ in range(50):
            e = pool[int(rng.integers(len(pool)))]
            key = (e["source"], e["file"], e["offset"])
            if key not in seen:
                break
        seen.add(key)
        out.append(e)
    return out


class Loader:
    def __init__(self):
        self.items = {(it["source"], it.get("take", it["file"])): it for it in prepare.items()}

    def audio(self, e):
        """The clip's real audio (22 050 Hz mono float32)."""
        x = prepare.load_audio(self.items[(e["source"], e.get("take", e["file"]))])
        s = int(e["offset"] * 22050)
        return np.asarray(x[s:s + int(e["duration"] * 22050)], dtype=np.float32)
