#!/usr/bin/env python3
"""Builds the training corpus of engine.md §5 from Debian packages: resumable, logged.

    .venv/bin/python training/data/prepare.py            # all stages
    .venv/bin/python training/data/prepare.py --stage stats

Stages (each skips work already done):
  install  apt-get the packages of engine.md §5 (0ad-data, wesnoth-1.16-music,
           tuxpaint-stamps-default, openttd-openmsx, fluidsynth, fluid-soundfont-gm)
  midi     GM renders with fluidsynth: openttd-openmsx files and music21 corpus scores,
           every channel's instrument drawn from the GM families (so tags are exact)
  clips    decode, mono, 22 050 Hz, 10 s clips (short sounds padded with silence and
           marked), normalised-dB mel (engine.md §1, restore_train.mel) in float16 shards
  stats    training/data/STATS.md and training/data/validation_files.txt

Outputs: training/data/manifest.jsonl (committed), shards under training/data/shards/
and renders under training/data/cache/ (not committed). Audio never leaves this machine.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import io
import json
import logging
import os
import pathlib
import random
import re
import subprocess
import sys
import time
import zipfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from restore_train import mel  # noqa: E402
from restore_train.gm import GM_FAMILIES, GM_PROGRAM_NAMES, family_of  # noqa: E402

PACKAGES = ["0ad-data", "wesnoth-1.16-music", "tuxpaint-stamps-default", "openttd-openmsx", "fluidsynth", "fluid-soundfont-gm"]
ZERO_AD_ZIP = "/usr/share/games/0ad/mods/public/public.zip"
WESNOTH_MUSIC = "/usr/share/games/wesnoth/1.16/data/core/music"
TUXPAINT_STAMPS = "/usr/share/tuxpaint/stamps"
OPENMSX = "/usr/share/games/openttd/baseset/openmsx"
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"

CACHE = HERE / "cache"
SHARDS = HERE / "shards"
MANIFEST = HERE / "manifest.jsonl"
CLIP_SECONDS = 10.0
CLIP_SAMPLES = int(CLIP_SECONDS * mel.SAMPLE_RATE)
FRAMES = 848                       # 53 columns of 16 frames (engine.md §1)
SHARD_CLIPS = 256
VALIDATION_PERCENT = 7             # of source files, chosen by hash
MIN_TAIL_SECONDS = 3.0             # a file's last partial window is kept (padded) if at least this long
SILENCE_DB = -60.0                 # clips quieter than this (RMS dBFS) are dropped
SEED = 20261122
# Spoken stamp descriptions: a few languages, enough speech without drowning the rest.
LANGUAGES = {"": "English", "fr": "French", "es": "Spanish", "de": "German", "it": "Italian",
             "ru": "Russian", "el": "Greek", "ca": "Catalan"}

log = logging.getLogger("prepare")


# ---------------------------------------------------------------- helpers

def is_validation(source: str, file: str) -> bool:
    h = int(hashlib.sha256(f"{source}:{file}".encode()).hexdigest()[:8], 16)
    return h % 100 < VALIDATION_PERCENT


def words(name: str) -> str:
    return re.sub(r"[_\-]+", " ", re.sub(r"\.\w+$", "", name)).strip()


# ---------------------------------------------------------------- stage: install

def stage_install() -> None:
    missing = [p for p in PACKAGES if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout.find("install ok installed") < 0]
    if not missing:
        log.info("install: all packages present")
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    log.info("install: %s", " ".join(missing))
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq"] + missing, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


# ---------------------------------------------------------------- stage: midi

def draw_programs(rng: random.Random, channels: list[int]) -> dict[int, int]:
    """One GM program per melodic channel, drawn family first so every family is common."""
    families = [f for f in GM_FAMILIES if f not in ("sound effects", "percussive")]
    out = {}
    for ch in channels:
        fam = rng.choice(families)
        out[ch] = rng.choice(GM_FAMILIES[fam])
    return out


def rewrite_midi(src: bytes | str, dst: pathlib.Path, rng: random.Random) -> dict:
    """Replaces every program change with drawn programs; returns the exact tags."""
    import mido
    mid = mido.MidiFile(file=io.BytesIO(src)) if isinstance(src, bytes) else mido.MidiFile(src)
    used = sorted({m.channel for t in mid.tracks for m in t if m.type == "note_on" and m.velocity > 0})
    melodic = [c for c in used if c != 9]
    programs = draw_programs(rng, melodic)
    for track in mid.tracks:
        kept = []
        first_seen = set()
        for m in track:
            if m.type == "program_change":
                if m.channel == 9:
                    kept.append(m)
                    continue
                if m.channel in programs and m.channel not in first_seen:
                    first_seen.add(m.channel)
                    kept.append(m.copy(program=programs[m.channel]))
                else:
                    kept.append(mido.MetaMessage("text", text="", time=m.time))
            else:
                kept.append(m)
        track[:] = kept
    # Channels that never had a program change get one at the start of the first track.
    for ch, prog in programs.items():
        mid.tracks[0].insert(0, mido.Message("program_change", channel=ch, program=prog, time=0))
    mid.save(dst)
    fams = sorted({family_of(p) for p in programs.values()})
    return {"programs": sorted({GM_PROGRAM_NAMES[p] for p in programs.values()}), "families": fams,
            "drums": 9 in used}


def spread_parts(path: pathlib.Path) -> None:
    """music21 writes every part on one channel; give each part (track) its own, so each
    part gets its own drawn instrument."""
    import mido
    mid = mido.MidiFile(path)
    free = [c for c in range(16) if c != 9]
    n = 0
    for track in mid.tracks:
        if not any(m.type == "note_on" for m in track):
            continue
        ch = free[n % len(free)]
        n += 1
        for i, m in enumerate(track):
            if hasattr(m, "channel"):
                track[i] = m.copy(channel=ch)
    mid.save(path)


def render(mid: pathlib.Path, wav: pathlib.Path) -> None:
    tmp = wav.with_suffix(".tmp.wav")
    subprocess.run(["fluidsynth", "-ni", "-q", "-F", str(tmp), "-r", str(mel.SAMPLE_RATE), "-g", "0.6", SOUNDFONT, str(mid)],
                   check=True, capture_output=True)
    tmp.replace(wav)


def music21_scores(limit: int) -> list[tuple[str, bytes]]:
    """(name, MIDI bytes) for corpus scores: Bach chorales first, then other composers."""
    from music21 import corpus
    paths = [p for p in corpus.getComposer("bach") if str(p).endswith((".mxl", ".krn", ".xml"))]
    others = []
    for comp in ("beethoven", "mozart", "haydn", "schumann", "handel", "monteverdi", "palestrina", "corelli"):
        others += list(corpus.getComposer(comp))
    rng = random.Random(SEED)
    rng.shuffle(paths)
    rng.shuffle(others)
    return [(str(p), None) for p in (paths[: int(limit * 0.7)] + others[: limit - int(limit * 0.7)])]


def stage_midi(target_hours: float, score_limit: int) -> None:
    out = CACHE / "midi"
    out.mkdir(parents=True, exist_ok=True)
    index_path = out / "index.jsonl"
    done = {}
    if index_path.exists():
        for line in index_path.read_text().splitlines():
            e = json.loads(line)
            done[e["wav"]] = e
    hours = sum(e["seconds"] for e in done.values()) / 3600
    jobs: list[tuple[str, str, object]] = []
    for p in sorted(pathlib.Path(OPENMSX).glob("*.mid")):
        for take in range(2):     # two instrument draws per file
            jobs.append(("openttd-openmsx", f"{p.name}#{take}", p))
    for name, _ in music21_scores(score_limit):
        jobs.append(("music21", name.split("/corpus/")[-1], name))
    rng = random.Random(SEED)
    with open(index_path, "a") as index:
        for source, key, src in jobs:
            wav = out / (hashlib.sha1(f"{source}:{key}".encode()).hexdigest()[:16] + ".wav")
            if str(wav.name) in done:
                continue
            if hours >= target_hours:
                break
            file_rng = random.Random(f"{SEED}:{source}:{key}")
            try:
                midpath = wav.with_suffix(".mid")
                if source == "music21":
                    from music21 import converter
                    score = converter.parse(src)
                    raw = midpath.with_suffix(".orig.mid")
                    score.write("midi", fp=str(raw))
                    spread_parts(raw)
                    tags = rewrite_midi(str(raw), midpath, file_rng)
                    raw.unlink()
                else:
                    tags = rewrite_midi(str(src), midpath, file_rng)
                render(midpath, wav)
                import soundfile as sf
                seconds = sf.info(str(wav)).duration
            except Exception as e:  # a score music21 cannot convert is skipped, not fatal
                log.warning("midi: %s %s skipped (%s)", source, key, e)
                continue
            entry = {"wav": wav.name, "source": source, "file": key.split("#")[0], "take": key, "seconds": seconds, **tags}
            index.write(json.dumps(entry) + "\n")
            index.flush()
            done[wav.name] = entry
            hours += seconds / 3600
            log.info("midi: %s %s %.0f s (%s) total %.2f h", source, key, seconds, ", ".join(tags["families"]), hours)
    del rng


# ---------------------------------------------------------------- items

def midi_caption(tags: dict) -> str:
    fams = tags["families"]
    if len(tags["programs"]) == 1 and not tags["drums"]:
        return f"solo {tags['programs'][0].lower()} music"
    parts = ", ".join(fams[:-1]) + (" and " if len(fams) > 1 else "") + fams[-1] if fams else "instruments"
    return f"music for {parts}" + (" with drums" if tags["drums"] else "")


def items() -> list[dict]:
    """Every source file with its labels and caption, in a fixed order."""
    out = []
    z = zipfile.ZipFile(ZERO_AD_ZIP)
    for n in sorted(z.namelist()):
        if not (n.startswith("audio/") and n.endswith((".ogg", ".wav"))):
            continue
        parts = n.split("/")
        if parts[1] == "music":
            title = words(parts[-1])
            out.append({"source": "0ad-data", "file": n, "kind": "music", "labels": ["music", "game soundtrack", "0ad music"],
                        "caption": f"game soundtrack music, '{title}'"})
        elif parts[1] == "voice":
            lang = {"greek": "Ancient Greek", "latin": "Latin", "napatan": "Meroitic", "persian": "Old Persian"}.get(parts[2], parts[2])
            out.append({"source": "0ad-data", "file": n, "kind": "speech", "labels": ["speech", "voice", f"language:{lang}"],
                        "language": lang, "caption": f"a soldier's voice speaking {lang}"})
        else:
            cats = [p for p in parts[1:-1]]
            what = re.sub(r"\s*\d+$", "", words(parts[-1]))
            out.append({"source": "0ad-data", "file": n, "kind": "effect",
                        "labels": ["sound effect"] + [f"0ad:{'/'.join(cats[:i + 1])}" for i in range(len(cats))],
                        "category": "/".join(cats[:2]), "caption": f"the sound of {what} ({cats[-1]})"})
    for p in sorted(pathlib.Path(WESNOTH_MUSIC).glob("*.ogg")):
        out.append({"source": "wesnoth-1.16-music", "file": str(p), "kind": "music",
                    "labels": ["music", "orchestral music", "game soundtrack"], "caption": f"orchestral music, '{words(p.name)}'"})
    stamps = pathlib.Path(TUXPAINT_STAMPS)
    for p in sorted(stamps.rglob("*.ogg")):
        rel = p.relative_to(stamps)
        category = rel.parts[0]
        m = re.match(r"(.+)_desc(?:_(\w+))?\.ogg$", p.name)
        if m:
            base, lang = m.group(1), m.group(2) or ""
            if lang not in LANGUAGES:
                continue
            text = transcript(p.parent / f"{base}.txt", lang)
            if not text:
                continue
            language = LANGUAGES[lang]
            out.append({"source": "tuxpaint-stamps-default", "file": str(p), "kind": "speech",
                        "labels": ["speech", f"language:{language}", f"tuxpaint:{category}"], "language": language,
                        "transcript": text, "caption": f"a person says '{text}' in {language}"})
        else:
            what = re.sub(r"^\d+\s*", "", words(p.name))
            out.append({"source": "tuxpaint-stamps-default", "file": str(p), "kind": "effect",
                        "labels": ["sound effect", f"tuxpaint:{category}"], "category": category,
                        "caption": f"the sound of {what} ({category})"})
    index = CACHE / "midi" / "index.jsonl"
    if index.exists():
        for line in index.read_text().splitlines():
            e = json.loads(line)
            out.append({"source": e["source"], "file": e["file"], "render": str(CACHE / "midi" / e["wav"]), "take": e["take"],
                        "kind": "midi", "labels": ["music", "midi render"] + [f"gm:{f}" for f in e["families"]]
                        + [f"program:{p}" for p in e["programs"]] + (["drums"] if e["drums"] else []),
                        "families": e["families"], "programs": e["programs"], "caption": midi_caption(e)})
    return out


def transcript(txt: pathlib.Path, lang: str) -> str | None:
    if not txt.exists():
        return None
    lines = txt.read_text(encoding="utf-8", errors="replace").splitlines()
    if lang == "":
        return lines[0].strip() if lines else None
    for line in lines[1:]:
        if line.startswith(f"{lang}.utf8="):
            return line.split("=", 1)[1].strip()
    return None


# ---------------------------------------------------------------- stage: clips

_ZIP: zipfile.ZipFile | None = None


def load_audio(item: dict) -> np.ndarray:
    global _ZIP
    import soundfile as sf
    if item["source"] == "0ad-data":
        if _ZIP is None:    # one open archive per process: its directory has thousands of entries
            _ZIP = zipfile.ZipFile(ZERO_AD_ZIP)
        data = _ZIP.read(item["file"])
        x, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    else:
        x, sr = sf.read(item.get("render", item["file"]), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != mel.SAMPLE_RATE:
        from scipy.signal import resample_poly
        g = np.gcd(int(sr), mel.SAMPLE_RATE)
        x = resample_poly(x, mel.SAMPLE_RATE // g, int(sr) // g).astype(np.float32)
    return x


def clips_of(item: dict) -> list[tuple[float, float, bool, np.ndarray]]:
    """(offset s, audio s, padded, normalised mel (80, 848) float16) for each kept window."""
    x = load_audio(item)
    out = []
    n = len(x)
    starts = list(range(0, max(n - CLIP_SAMPLES, 0) + 1, CLIP_SAMPLES)) if n >= CLIP_SAMPLES else [0]
    last_end = starts[-1] + CLIP_SAMPLES
    if n > last_end and n - last_end >= MIN_TAIL_SECONDS * mel.SAMPLE_RATE:
        starts.append(last_end)
    for s in starts:
        seg = x[s:s + CLIP_SAMPLES]
        audio_s = len(seg) / mel.SAMPLE_RATE
        padded = len(seg) < CLIP_SAMPLES
        if padded:
            seg = np.concatenate([seg, np.zeros(CLIP_SAMPLES - len(seg), dtype=np.float32)])
        rms = np.sqrt(np.mean(seg[: max(1, int(audio_s * mel.SAMPLE_RATE))] ** 2) + 1e-20)
        if 20 * np.log10(rms) < SILENCE_DB:
            continue
        m = mel.normalized_mel(seg, dtype=np.float32)[:, :FRAMES]
        out.append((s / mel.SAMPLE_RATE, audio_s, padded, m.astype(np.float16)))
    return out


def _work(args):
    i, item = args
    try:
        return i, clips_of(item), None
    except Exception as e:
        return i, [], str(e)


def stage_clips(workers: int) -> None:
    SHARDS.mkdir(parents=True, exist_ok=True)
    done_files = set()
    shard_count = 0
    if MANIFEST.exists():
        for line in MANIFEST.read_text().splitlines():
            e = json.loads(line)
            done_files.add((e["source"], e.get("take", e["file"])))
            shard_count = max(shard_count, e["shard"] + 1)
    # Shards are written before their manifest lines; a shard without lines is a leftover.
    for p in SHARDS.glob("shard-*.npy"):
        if int(p.stem.split("-")[1]) >= shard_count:
            p.unlink()
    todo = [(i, it) for i, it in enumerate(items()) if (it["source"], it.get("take", it["file"])) not in done_files]
    log.info("clips: %d source files to do, %d done, %d shards", len(todo), len(done_files), shard_count)
    buffer_mels, buffer_lines = [], []
    finished_files: list[tuple[str, str]] = []

    def flush():
        nonlocal shard_count, buffer_mels, buffer_lines, finished_files
        if not buffer_mels:
            return
        path = SHARDS / f"shard-{shard_count:05d}.npy"
        np.save(path.with_suffix(".tmp.npy"), np.stack(buffer_mels))
        path.with_suffix(".tmp.npy").replace(path)
        with open(MANIFEST, "a") as f:
            for j, line in enumerate(buffer_lines):
                line["shard"], line["index"] = shard_count, j
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        shard_count += 1
        buffer_mels, buffer_lines = [], []

    from multiprocessing import Pool
    t0 = time.time()
    with Pool(workers) as pool:
        for n, (i, clips, err) in enumerate(pool.imap(_work, todo, chunksize=4)):
            item = dict(todo[n][1])
            if err:
                log.warning("clips: %s %s skipped (%s)", item["source"], item["file"], err)
                continue
            split = "validation" if is_validation(item["source"], item["file"]) else "train"
            for (offset, audio_s, padded, m) in clips:
                line = {"id": hashlib.sha1(f"{item['source']}:{item.get('take', item['file'])}:{offset}".encode()).hexdigest()[:16],
                        "source": item["source"], "file": item["file"], "offset": offset, "duration": audio_s,
                        "padded": padded, "split": split, "kind": item["kind"], "labels": item["labels"],
                        "caption": item["caption"]}
                for k in ("take", "language", "transcript", "category", "families", "programs"):
                    if k in item:
                        line[k] = item[k]
                buffer_mels.append(m)
                buffer_lines.append(line)
            # A file's clips never straddle a flush boundary unfinished: flush only between files.
            if len(buffer_mels) >= SHARD_CLIPS:
                flush()
            if n % 200 == 0:
                log.info("clips: %d/%d files, %.0f s", n, len(todo), time.time() - t0)
        flush()
    log.info("clips: done, %d shards", shard_count)


# ---------------------------------------------------------------- stage: stats

def stage_stats() -> None:
    lines = [json.loads(l) for l in MANIFEST.read_text().splitlines()]
    by_source = collections.defaultdict(lambda: [0.0, 0, 0.0])
    by_label = collections.defaultdict(float)
    by_kind = collections.defaultdict(float)
    val_files = set()
    all_files = set()
    for e in lines:
        h = e["duration"] / 3600
        s = by_source[e["source"]]
        s[0] += h
        s[1] += 1
        if e["split"] == "validation":
            s[2] += h
            val_files.add((e["source"], e["file"]))
        all_files.add((e["source"], e["file"]))
        by_kind[e["kind"]] += h
        for lab in e["labels"]:
            by_label[lab] += h
    total = sum(v[0] for v in by_source.values())
    val_h = sum(v[2] for v in by_source.values())
    md = ["# Training data statistics", "",
          "Generated by `training/data/prepare.py --stage stats` from `manifest.jsonl`. Hours are real audio",
          "(the silence that pads short sounds to 10 s clips is not counted).", "",
          f"- clips: {len(lines)} (10 s windows, 848 frames of normalised mel each)",
          f"- audio: {total:.2f} h, of which validation {val_h:.2f} h",
          f"- source files: {len(all_files)}, of which validation {len(val_files)} ({100 * len(val_files) / max(1, len(all_files)):.1f}%)",
          "", "## By source package", "", "| source | hours | clips | validation hours |", "|---|---|---|---|"]
    for k, (h, n, v) in sorted(by_source.items()):
        md.append(f"| {k} | {h:.2f} | {n} | {v:.2f} |")
    md += ["", "## By kind", "", "| kind | hours |", "|---|---|"]
    for k, h in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        md.append(f"| {k} | {h:.2f} |")
    md += ["", "## By label", "", "| label | hours |", "|---|---|"]
    for k, h in sorted(by_label.items(), key=lambda kv: (-kv[1], kv[0])):
        md.append(f"| {k} | {h:.3f} |")
    (HERE / "STATS.md").write_text("\n".join(md) + "\n")
    (HERE / "validation_files.txt").write_text("".join(f"{s}\t{f}\n" for s, f in sorted(val_files)))
    log.info("stats: %.2f h in %d clips, %d validation files", total, len(lines), len(val_files))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", choices=["all", "install", "midi", "clips", "stats"], default="all")
    ap.add_argument("--midi-hours", type=float, default=3.5)
    ap.add_argument("--scores", type=int, default=400)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.FileHandler(HERE / "prepare.log"), logging.StreamHandler()])
    if args.stage in ("all", "install"):
        stage_install()
    if args.stage in ("all", "midi"):
        stage_midi(args.midi_hours, args.scores)
    if args.stage in ("all", "clips"):
        stage_clips(args.workers)
    if args.stage in ("all", "stats"):
        stage_stats()


if __name__ == "__main__":
    main()
