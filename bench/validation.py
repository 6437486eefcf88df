"""Validation-split clips for the benchmarks (never training data).

`clips()` reads corpus v2 (training/data/prepare_v2.py): the validation clips of its plan,
rebuilt at 22 050 Hz from the decoded-audio cache exactly as the mel stage cut them.
`manifest()`, `pick()` and `Loader` read corpus v1 (training/data/prepare.py) for the older
benchmarks."""
import collections
import json
import os
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.manifest import manifest_lines  # noqa: E402
sys.path.insert(0, str(ROOT / "training" / "data"))
import prepare  # noqa: E402

RESTORE = os.environ.get("RESTORE", str(ROOT / ".build" / "release" / "restore"))
CACHE_V2 = ROOT / "training" / "data" / "cache" / "v2"


def _jsonl(p):
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()]


def clip_audio(c, pcm):
    """The audio of one plan entry (22 050 Hz float32), as the mel stage builds it."""
    x = np.zeros(c["samples"], dtype=np.float32)
    if c["type"] == "window":
        y = pcm(c["key"])
        a = int(round(c["offset"] * 22050))
        x[:] = y[a:a + c["samples"]]
        return x
    x = np.zeros(max(c["samples"], max(it["start"] + it["src_end"] - it["src_start"] for it in c["items"])), dtype=np.float32)
    for it in c["items"]:
        seg = pcm(it["key"])[it["src_start"]:it["src_end"]].copy()
        f = min(len(seg) // 2, int(0.005 * 22050))
        if f > 0:
            ramp = np.linspace(0, 1, f, dtype=np.float32)
            seg[:f] *= ramp
            seg[-f:] *= ramp[::-1]
        x[it["start"]:it["start"] + len(seg)] = seg
    return x[:c["samples"]]


def clips(n, seed=0, full_band_only=False, min_seconds=4.0, kinds=None):
    """n validation clips of corpus v2, balanced over kinds (effect, midi, music, speech):
    dicts with id, kind, source, file, type (window or montage), offset (s, windows),
    bandwidth_hz and audio (22 050 Hz float32). With
    full_band_only, only clips whose measured bandwidth reaches 7.5 kHz (usable references
    for bandwidth extension)."""
    plan = [c for c in _jsonl(CACHE_V2 / "plan.jsonl") if c["split"] == "validation" and c["samples"] >= min_seconds * 22050]
    recs = {r["key"]: r for r in _jsonl(CACHE_V2 / "decoded.jsonl") if "error" not in r}

    def bandwidth(c):
        if c["type"] == "window":
            r = recs[c["key"]]
            w = c.get("window", 0)
            return r["window_bandwidth_hz"][w] if w < len(r["window_bandwidth_hz"]) else r["bandwidth_hz"]
        return min(recs[it["key"]]["bandwidth_hz"] for it in c["items"])

    rng = np.random.default_rng(seed)
    by_kind = collections.defaultdict(list)
    for c in plan:
        if (kinds is None or c["kind"] in kinds) and (not full_band_only or bandwidth(c) >= 7500):
            by_kind[c["kind"]].append(c)
    for k in by_kind:
        rng.shuffle(by_kind[k])
    cache = {}

    def pcm(key):
        if key not in cache:
            cache[key] = np.load(CACHE_V2 / "pcm" / f"{key}.npy").astype(np.float32)
        return cache[key]

    out, names = [], sorted(by_kind)
    i = 0
    while len(out) < n and any(by_kind.values()):
        pool = by_kind[names[i % len(names)]]
        i += 1
        if not pool:
            continue
        c = pool.pop()
        x = clip_audio(c, pcm)
        if np.sqrt(np.mean(x ** 2)) < 1e-3:
            continue
        out.append({"id": f"{c['source']}:{c['file']}:{c.get('offset', 0)}", "kind": c["kind"], "source": c["source"],
                    "file": c["file"], "type": c["type"], "offset": c.get("offset", 0.0), "bandwidth_hz": bandwidth(c), "audio": x})
    return out


def manifest():
    return manifest_lines(ROOT / "training" / "data")


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
