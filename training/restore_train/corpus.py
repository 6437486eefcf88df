"""The prepared corpus: manifest lines and their mel shards (training/data/prepare.py)."""
from __future__ import annotations

import json
import pathlib

import numpy as np

from .manifest import manifest_lines

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
FRAMES = 848


class Corpus:
    def __init__(self, split: str, data: pathlib.Path = DATA, kinds: set[str] | None = None):
        self.lines = manifest_lines(data)
        self.lines = [e for e in self.lines if e["split"] == split and (kinds is None or e["kind"] in kinds)]
        shards = sorted({e["shard"] for e in self.lines})
        self.shards = {s: np.load(data / "shards" / f"shard-{s:05d}.npy", mmap_mode="r") for s in shards}

    def __len__(self):
        return len(self.lines)

    def mel(self, i: int) -> np.ndarray:
        e = self.lines[i]
        return np.asarray(self.shards[e["shard"]][e["index"]], dtype=np.float32)   # (80, 848)

    def audio_frames(self, i: int) -> int:
        return min(FRAMES, int(self.lines[i]["duration"] * 22050 / 256))

    def crop(self, i: int, frames: int, rng: np.random.Generator) -> np.ndarray:
        """A random window inside the clip's real audio (short sounds start at 0)."""
        hi = max(0, self.audio_frames(i) - frames)
        s = int(rng.integers(0, hi + 1))
        return self.mel(i)[:, s:s + frames]
