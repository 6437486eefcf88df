"""Instrument-family tagging clips for bench/probe.py, from the validation scores only.

The corpus renders every score once, with one instrument draw, so all clips of a score share
one label set: 11 validation scores give 11 label sets, and a probe tested on 3 held-out scores
measures little. Here each validation score (never seen in training) is rendered again `draws`
times, every draw with fresh GM programs per part (the corpus's own draw: family first, then a
program of that family), and the first `excerpts` 10 s stretches with sound of each render
become clips. Labels are exact (the drawn families); splits stay by score, so a test score's
music is never in the probe's training set.

Renders are cached in training/data/cache/bench-midi (not committed) and keyed by score and draw.
"""
import hashlib
import json
import pathlib
import random
import sys

import numpy as np
import soundfile as sf

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(ROOT / "training" / "data"))
import prepare  # noqa: E402

CACHE = ROOT / "training" / "data" / "cache" / "bench-midi"
SR = 22050


def validation_scores(manifest):
    """(source, file) of every validation MIDI score, sorted."""
    return sorted({(e["source"], e["file"]) for e in manifest if e["split"] == "validation" and e["kind"] == "midi"})


def _score_midi(source: str, file: str, dst: pathlib.Path) -> pathlib.Path:
    """The score as a MIDI file with one channel per part (before the instrument draw)."""
    if source == "openttd-openmsx":
        return pathlib.Path(prepare.OPENMSX) / file
    if not dst.exists():
        from music21 import corpus
        corpus.parse(file).write("midi", fp=str(dst))
        prepare.spread_parts(dst)
    return dst


def render(source: str, file: str, draw: int) -> tuple[np.ndarray, list[str]]:
    """(22 050 Hz mono audio, families) of one draw of one score; cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = f"{source}-{file}".replace("/", "_").replace("#", "_")
    wav, tags_path = CACHE / f"{key}-{draw}.wav", CACHE / f"{key}-{draw}.json"
    if not (wav.exists() and tags_path.exists()):
        src = _score_midi(source, file, CACHE / f"{key}.orig.mid")
        mid = CACHE / f"{key}-{draw}.mid"
        tags = prepare.rewrite_midi(str(src), mid, random.Random(f"bench-probe:{source}:{file}:{draw}"))
        prepare.render(mid, wav)
        mid.unlink()
        tags_path.write_text(json.dumps(tags))
    x, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    assert sr == SR, f"{wav}: {sr} Hz"
    return x.mean(axis=1), json.loads(tags_path.read_text())["families"]


def clips(manifest, draws: int = 8, excerpts: int = 2, seconds: float = 10.0):
    """[(entry, audio, families)]: entry has id, source, file (the score) and kind 'midi'."""
    out = []
    n = int(seconds * SR)
    for source, file in validation_scores(manifest):
        for draw in range(draws):
            x, families = render(source, file, draw)
            # Skip the silent lead-in, then take consecutive excerpts while a full one remains.
            loud = np.flatnonzero(np.abs(x) > 1e-3)
            start = int(loud[0]) if loud.size else 0
            for k in range(excerpts):
                s = start + k * n
                if s + n > len(x):
                    break
                score = hashlib.sha1(f"{source}:{file}".encode()).hexdigest()[:10]
                e = {"id": f"midi-{score}-{draw}-{k}", "source": source, "file": file, "kind": "midi"}
                out.append((e, x[s:s + n], families))
    return out
