#!/usr/bin/env python3
"""Training corpus v2 (issue 15): dense 10 s clips from the allowlisted Debian packages.

    .venv/bin/python training/data/prepare_v2.py                 # all stages, resumable
    .venv/bin/python training/data/prepare_v2.py --stage stats   # one stage

Stages (each skips finished work; state in training/data/cache/v2/):
  install    apt-get the allowlist (training/restore_train/sources.py), the soundfonts and
             decoders; records missing packages and each package's licence
  inventory  every audio file of every package, archives included (0ad public.zip,
             trigger-rally data.zip, OpenClonk Sound.ocg, GCompris .rcc, freedoom WADs),
             with kind, labels, category, language: cache/v2/inventory.jsonl
  midi       fluidsynth renders with three GM soundfonts: openttd-openmsx (one take per
             soundfont), freedoom's MIDI lumps, music21 corpus scores
  decode     per file: original rate, bandwidth (restore_train.bandwidth, at the original
             rate, whole file and per 10 s window), mono 22 050 Hz float16 PCM in the cache;
             duplicates (same bytes, same decoded PCM) are kept once, in ALLOWLIST order
  plan       split by whole file (v1 validation files stay in validation), long files cut
             in 10 s windows, short sounds of one kind and category joined into reels
  mel        normalised mel (restore_train.mel) of every clip in float16 (clips, 80, 848)
             shards, per-clip level/brightness/density measurements and captions;
             writes training/data/manifest.jsonl.gz
  stats      training/data/STATS.md and training/data/validation_files.txt

Clip ids are sha1(source:file:offset) (windows) or sha1 of the reel's items: a rerun on a
fresh machine rebuilds the same manifest. Log: training/logs/data-v2.log.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import gzip
import hashlib
import io
import json
import logging
import os
import pathlib
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib

# One worker, one thread: a threaded BLAS spinning on a shared 2-core machine made the mel
# product ~25x slower. Set before numpy loads.
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
import prepare as v1  # noqa: E402
from restore_train import bandwidth as bwmod  # noqa: E402
from restore_train import mel  # noqa: E402
from restore_train.gm import GM_PROGRAM_NAMES, family_of  # noqa: E402
from restore_train.manifest import write_manifest_gz  # noqa: E402
from restore_train.sources import ALLOWLIST, RENDER_PACKAGES, SOUNDFONTS, TOOL_PACKAGES  # noqa: E402

CACHE = HERE / "cache" / "v2"
SHARDS = HERE / "shards"
MANIFEST = HERE / "manifest.jsonl.gz"       # committed gzipped (restore_train/manifest.py reads it)
LOGS = ROOT / "logs"
SR = mel.SAMPLE_RATE
CLIP_S = 10.0
CLIP_N = int(CLIP_S * SR)
FRAMES = 848
SHARD_CLIPS = 256
MIN_WINDOW_S = 8.0            # a partial window (or a whole file) is a clip only from 8 s on: ≤ 20% padding
MIN_REEL_S = 8.0
REEL_ITEM_MAX_S = 8.0         # shorter sounds are joined into reels
MIN_ITEM_S = 0.05
SILENCE_DB = -60.0
SEED = 20261130
VALIDATION_PERCENT = {"music": 7, "midi": 7, "speech": 8, "effect": 10}
AUDIO_EXT = (".ogg", ".oga", ".wav", ".flac", ".mp3", ".opus", ".g722")
TRACKER_EXT = (".it", ".xm", ".s3m", ".mod")
MIDI_HOURS = 7.5              # MIDI renders ≤ 8 h
LANG_NAMES = {
    "": "English", "en": "English", "fr": "French", "es": "Spanish", "de": "German", "it": "Italian", "ru": "Russian",
    "el": "Greek", "ca": "Catalan", "ro": "Romanian", "bg": "Bulgarian", "be": "Belarusian", "da": "Danish",
    "lt": "Lithuanian", "nl": "Dutch", "ml": "Malayalam", "pl": "Polish", "uk": "Ukrainian", "pt": "Portuguese",
    "fi": "Finnish", "sv": "Swedish", "cs": "Czech", "hu": "Hungarian", "tr": "Turkish", "ja": "Japanese",
    "pt_BR": "Brazilian Portuguese", "zh_CN": "Chinese", "zh_TW": "Chinese", "sq": "Albanian", "eu": "Basque",
}

log = logging.getLogger("prepare_v2")


def sha1(s) -> str:
    return hashlib.sha1(s if isinstance(s, bytes) else s.encode()).hexdigest()


def words(name: str) -> str:
    s = re.sub(r"\.\w+$", "", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", s)
    return re.sub(r"\s+", " ", re.sub(r"[_\-.@]+", " ", s)).strip().lower()


def what_of(name: str) -> str:
    """A file name as words, without take numbers: 'camel_10.ogg' -> 'camel'."""
    w = re.sub(r"(\s*\d+[a-z]?)+$", "", words(name)).strip()
    w = re.sub(r"^\d+\s*", "", w)
    w = re.sub(r"^(sound|snd|sfx|default|amb)\s+", lambda m: "ambience of " if m.group(1) == "amb" else "", w)
    w = w or words(name)
    return "a game sound" if w in ("sound", "snd", "sfx", "") or re.fullmatch(r"[\d\s]+", w) else w


def read_jsonl(p: pathlib.Path) -> list[dict]:
    if not p.exists():
        return []
    out = []
    for line in p.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass          # a line cut by an interrupted run
    return out


def write_atomic(p: pathlib.Path, text: str) -> None:
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(p)


# ---------------------------------------------------------------- stage: install

def dpkg_installed(p: str) -> bool:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
    return "install ok installed" in r.stdout


def apt_candidate(p: str) -> str | None:
    r = subprocess.run(["apt-cache", "policy", p], capture_output=True, text=True)
    m = re.search(r"Candidate:\s*(\S+)", r.stdout)
    return m.group(1) if m and m.group(1) != "(none)" else None


LICENCE_PATTERNS = [
    (r"GNU (Lesser|Library) General Public License[^.]{0,80}?version 2\.1", "LGPL-2.1+"),
    (r"GNU General Public License[^.]{0,80}?version 3", "GPL-3+"),
    (r"GNU General Public License[^.]{0,80}?version 2", "GPL-2+"),
    (r"Creative Commons Attribution[- ]Share[- ]?Alike[^\d]{0,40}4\.0", "CC-BY-SA-4.0"),
    (r"Creative Commons Attribution[- ]Share[- ]?Alike[^\d]{0,40}3\.0", "CC-BY-SA-3.0"),
    (r"Creative Commons Attribution[^\d]{0,40}3\.0", "CC-BY-3.0"),
    (r"GNU GPL|GNU General Public License", "GPL"),
    (r"under the MIT licen[cs]e|\(MIT[,)]|Permission is hereby granted, free of charge", "MIT"),
    (r"public domain", "public-domain"),
]


def licence_of(pkg: str) -> str:
    """Short licence names of a package's /usr/share/doc/<pkg>/copyright (DEP-5 License:
    fields of its non-debian/ stanzas, most common first; free text matched otherwise)."""
    p = pathlib.Path(f"/usr/share/doc/{pkg}/copyright")
    if not p.exists():
        return "unknown"
    text = p.read_text(errors="replace")
    counts: collections.Counter = collections.Counter()
    order = []
    stanzas = []
    for stanza in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:\s*((?:.+\n?)(?:^[ \t].*\n?)*)", stanza, re.M)
        lic = re.search(r"^License:\s*(.+)$", stanza, re.M)
        if not files or not lic:
            continue
        f = files.group(1).strip()
        name = lic.group(1).strip()
        if f.startswith("debian/") or re.search(r"font", name, re.I):
            continue
        stanzas.append((f, name))
    audio = [(f, n) for f, n in stanzas if re.search(r"audio|sound|music|snd|voice|\.ogg|\.wav|\.opus|\.g722|sfx", f, re.I)]
    for f, name in (audio or stanzas):
        counts[name] += 1
        if name not in order:
            order.append(name)
    if counts:
        names = sorted(order, key=lambda n: (-counts[n], order.index(n)))
        return " / ".join(names[:3]) + (" / …" if len(names) > 3 else "")
    found = [short for pat, short in LICENCE_PATTERNS if re.search(pat, text, re.I | re.S)]
    return " / ".join(dict.fromkeys(found)) or "see copyright"


def stage_install() -> dict:
    wanted = list(dict.fromkeys([p for p in ALLOWLIST if p != "music21"] + list(RENDER_PACKAGES) + list(TOOL_PACKAGES) + ["sox", "xmp"]))
    state_p = CACHE / "packages.json"
    missing_pkgs = [p for p in wanted if not dpkg_installed(p)]
    if missing_pkgs:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        # Another apt (scripts/install-deps, say) may hold the lock: wait for it, do not fail.
        lock = ["-o", "DPkg::Lock::Timeout=900"]
        if not all(apt_candidate(p) for p in missing_pkgs):    # a fresh machine has no package lists
            subprocess.run(sudo + ["apt-get", *lock, "update", "-qq"], check=False, env=env)
        available = [p for p in missing_pkgs if apt_candidate(p)]
        if available:
            log.info("install: %s", " ".join(available))
            subprocess.run(sudo + ["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends"] + available,
                           check=False, env=env)
    state = {}
    for p in wanted:
        ok = dpkg_installed(p)
        ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True).stdout if ok else None
        state[p] = {"installed": ok, "version": ver, "licence": licence_of(p) if ok else None,
                    "copyright": f"/usr/share/doc/{p}/copyright"}
    state["music21"] = {"installed": True, "version": music21_version(), "licence": "BSD-3-Clause (music21); corpus scores public domain or as credited",
                        "copyright": "music21 (PyPI) corpus"}
    missing = [p for p, s in state.items() if not s["installed"]]
    if missing:
        # Never cache a partial install: every later stage would build a smaller corpus from it
        # and mark itself done (a fresh machine once got an empty corpus this way).
        raise SystemExit(f"prepare_v2: corpus v2 needs these Debian packages and apt-get did not install them: "
                         f"{', '.join(missing)} (see apt's messages above; then run `make data` again)")
    write_atomic(state_p, json.dumps(state, indent=1))
    log.info("install: %d packages, all installed", len(state))
    return state


def music21_version() -> str:
    try:
        import music21
        return music21.__version__
    except Exception:
        return "?"


def packages() -> dict:
    p = CACHE / "packages.json"
    return json.loads(p.read_text()) if p.exists() else stage_install()


# ---------------------------------------------------------------- archives

def dpkg_files(pkg: str) -> list[str]:
    r = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
    return sorted(l for l in r.stdout.splitlines() if os.path.isfile(l))


def c4group_entries(data: bytes) -> list[tuple[str, int, int]]:
    """(path, offset, size) of the files in an OpenClonk group (.ocg): gzip with a changed
    magic, a 204-byte scrambled header, 316-byte entry records, child groups nested."""
    if data[:2] == b"\x1e\x8c":
        data = gzip.decompress(b"\x1f\x8b" + data[2:])

    def unscramble(h: bytes) -> bytes:
        b = bytearray(x ^ 0xED for x in h)
        for i in range(0, len(b) - 2, 3):
            b[i], b[i + 2] = b[i + 2], b[i]
        return bytes(b)

    out = []

    def walk(base: int, prefix: str) -> None:
        h = unscramble(data[base:base + 204])
        if not h.startswith(b"RedWolf Design GrpFolder"):
            raise ValueError("not a C4Group")
        n = struct.unpack_from("<i", h, 36)[0]
        data0 = base + 204 + 316 * n
        for k in range(n):
            e = data[base + 204 + 316 * k: base + 204 + 316 * (k + 1)]
            name = e[:257].split(b"\0")[0].decode("latin-1")
            _packed, child, size, _u, off = struct.unpack_from("<iiiii", e, 260)
            if child:
                walk(data0 + off, prefix + name + "/")
            else:
                out.append((prefix + name, data0 + off, size))

    walk(0, "")
    _C4CACHE["data"] = data
    return out


_C4CACHE: dict = {}


def rcc_entries(data: bytes) -> list[tuple[str, bytes]]:
    """(path, bytes) of the files in a Qt resource bundle (.rcc)."""
    if data[:4] != b"qres":
        raise ValueError("not an rcc")
    version, tree, dat, names = struct.unpack_from(">IIII", data, 4)
    node = 22 if version >= 2 else 14
    out = []

    def name_at(off: int) -> str:
        n = struct.unpack_from(">H", data, names + off)[0]
        return data[names + off + 6: names + off + 6 + 2 * n].decode("utf-16-be")

    def walk(i: int, prefix: str) -> None:
        p = tree + i * node
        name_off, flags = struct.unpack_from(">IH", data, p)
        name = name_at(name_off) if i else ""
        if flags & 2:
            count, first = struct.unpack_from(">II", data, p + 6)
            for c in range(first, first + count):
                walk(c, prefix + name + "/" if i else "")
        else:
            doff = struct.unpack_from(">I", data, p + 10)[0]
            size = struct.unpack_from(">I", data, dat + doff)[0]
            blob = data[dat + doff + 4: dat + doff + 4 + size]
            if flags & 1:
                blob = zlib.decompress(blob[4:])
            elif flags & 4:
                return        # zstd: not used by audio
            out.append((prefix + name, blob))

    walk(0, "")
    return out


def wad_lumps(path: str) -> list[tuple[str, bytes]]:
    d = open(path, "rb").read()
    n, off = struct.unpack_from("<4xii", d, 0)
    out = []
    for k in range(n):
        lo, size, name = struct.unpack_from("<ii8s", d, off + 16 * k)
        out.append((name.split(b"\0")[0].decode("latin-1"), d[lo:lo + size]))
    return out


def dmx_to_pcm(b: bytes) -> tuple[np.ndarray, int]:
    fmt, rate, n = struct.unpack_from("<HHI", b, 0)
    if fmt != 3:
        raise ValueError("not a DMX sound")
    samples = np.frombuffer(b[8 + 16: 8 + n - 16], dtype=np.uint8)
    return (samples.astype(np.float32) - 128.0) / 128.0, int(rate)


# ---------------------------------------------------------------- stage: inventory

def item(source, file, kind, labels, caption, category=None, **kw) -> dict:
    e = {"source": source, "file": file, "kind": kind, "labels": labels, "caption": caption}
    if category:
        e["category"] = category
    e.update({k: v for k, v in kw.items() if v is not None})
    return e


def effect_item(source, file, category, what, extra_labels=()) -> dict:
    tail = category.split("/")[-1]
    head = what if what == "a game sound" else f"the sound of {what}"
    return item(source, file, "effect", ["sound effect", f"{source}:{category}"] + list(extra_labels),
                head + (f" ({tail})" if tail and tail not in what and tail != "sounds" else ""), category=category, what=what)


MUSIC_STYLE = {
    "0ad-data": "orchestral game music with world instruments",
    "wesnoth-1.16-music": "orchestral fantasy game music",
    "warzone2100-music": "electronic science-fiction game music",
    "widelands-data": "orchestral game music",
    "hedgewars-data": "playful game music",
    "naev-data": "space game music",
    "megaglest-data": "orchestral strategy game music",
    "redeclipse-data": "electronic action game music",
    "supertux-data": "upbeat platform game music",
    "openclonk-data": "game music",
    "neverball-common": "light game music",
    "extremetuxracer-data": "game music",
    "lincity-ng-data": "calm electronic game music",
    "xmoto-data": "game music",
    "colobot-common-sounds": "electronic game music",
    "scorched3d-data": "game music",
    "frozen-bubble-data": "upbeat game music",
    "powermanga-data": "electronic arcade game music",
    "tuxtype-data": "game music",
    "gcompris-qt-data": "music",
}


def music_item(source, file, title=None, labels=(), style=None) -> dict:
    style = style or MUSIC_STYLE.get(source, "game music")
    title = title or words(pathlib.PurePath(file).name)
    return item(source, file, "music", ["music", "game soundtrack", *labels], f"{style}, '{title}'", title=title, style=style)


def inv_0ad() -> list[dict]:
    out = []
    z = zipfile.ZipFile(v1.ZERO_AD_ZIP)
    for n in sorted(z.namelist()):
        if not (n.startswith("audio/") and n.endswith((".ogg", ".wav"))):
            continue
        parts = n.split("/")
        if parts[1] == "music":
            out.append(music_item("0ad-data", n, labels=["0ad music"]))
        elif parts[1] == "voice":
            lang = {"greek": "Ancient Greek", "latin": "Latin", "napatan": "Meroitic", "persian": "Old Persian"}.get(parts[2], "English")
            what = what_of(parts[-1])
            voice = "a woman's voice" if "female" in n else ("a man's voice" if "male" in n else "a soldier's voice")
            out.append(item("0ad-data", n, "speech", ["speech", "voice", f"language:{lang}"], f"{voice} speaking {lang}",
                            category=f"voice/{parts[2]}", language=lang, voice=voice, what=what))
        else:
            cats = parts[1:-1]
            e = effect_item("0ad-data", n, "/".join(cats[:2]), what_of(parts[-1]),
                            [f"0ad:{'/'.join(cats[:i + 1])}" for i in range(len(cats))])
            out.append(e)
    return out


def inv_tuxpaint_stamps() -> list[dict]:
    out = []
    stamps = pathlib.Path(v1.TUXPAINT_STAMPS)
    for p in sorted(stamps.rglob("*")):
        if p.suffix not in (".ogg", ".wav"):
            continue
        rel = p.relative_to(stamps)
        category = rel.parts[0]
        m = re.match(r"(.+)_desc(?:_(\w+))?\.(ogg|wav)$", p.name)
        if m:
            base, lang = m.group(1), m.group(2) or ""
            text = v1.transcript(p.parent / f"{base}.txt", lang)
            language = LANG_NAMES.get(lang, lang)
            if not text:
                continue
            out.append(item("tuxpaint-stamps-default", str(p), "speech", ["speech", f"language:{language}", f"tuxpaint:{category}"],
                            f"a person says '{text}' in {language}", category=f"stamps/{lang or 'en'}", language=language,
                            transcript=text, voice="a person"))
        elif re.match(r"(.+)_([a-z]{2})\.(ogg|wav)$", p.name) and re.match(r"(.+)_([a-z]{2})\.", p.name).group(2) in LANG_NAMES:
            base, lang = re.match(r"(.+)_([a-z]{2})\.", p.name).groups()
            language = LANG_NAMES[lang]
            out.append(item("tuxpaint-stamps-default", str(p), "speech", ["speech", f"language:{language}", f"tuxpaint:{category}"],
                            f"a person saying '{words(base)}' in {language}", category=f"stamps/{lang}", language=language,
                            voice="a person", what=words(base)))
        else:
            out.append(effect_item("tuxpaint-stamps-default", str(p), category, what_of(p.name)))
    return out


HEDGEWARS_VOICES = {"Default": ("English", "a cartoon hedgehog"), "British": ("English", "a cartoon hedgehog with a British accent"),
                    "Default_es": ("Spanish", "a cartoon hedgehog"), "Default_pl": ("Polish", "a cartoon hedgehog"),
                    "Default_ru": ("Russian", "a cartoon hedgehog"), "Default_uk": ("Ukrainian", "a cartoon hedgehog"),
                    "Russian": ("Russian", "a cartoon hedgehog with a Russian accent"), "Russian_pl": ("Polish", "a cartoon hedgehog with a Russian accent"),
                    "Classic": ("English", "a cartoon hedgehog"), "HillBilly": ("English", "a hillbilly cartoon voice"),
                    "Mobster": ("English", "a mobster cartoon voice"), "Pirate": ("English", "a pirate cartoon voice"),
                    "Robot": ("English", "a robot voice"), "Singer": ("English", "a singing cartoon voice"),
                    "Surfer": ("English", "a surfer cartoon voice")}


def classify_path(pkg: str, rel: str) -> str:
    low = rel.lower()
    dirs = low.split("/")[:-1]
    name = low.split("/")[-1]
    if low.endswith(TRACKER_EXT) or any(d in ("music", "musics", "bgm", "songs", "soundtrack") for d in dirs) or name.startswith(("music", "mus_")):
        return "music"
    if any(d in ("voice", "voices", "speech", "announcer", "codriver") for d in dirs):
        return "speech"
    return "effect"


def inv_generic(pkg: str, root: str | None = None, files: list[str] | None = None) -> list[dict]:
    out = []
    files = files if files is not None else dpkg_files(pkg)
    for f in files:
        low = f.lower()
        if not (low.endswith(AUDIO_EXT) or f.endswith(TRACKER_EXT)):
            continue
        rel = os.path.relpath(f, root) if root else f
        kind = classify_path(pkg, rel)
        parts = rel.split("/")
        if kind == "music":
            e = music_item(pkg, f)
            if f.endswith(TRACKER_EXT):
                e["labels"].append("tracker module")
                e["tracker"] = True
            out.append(e)
        elif kind == "speech":
            voice_dir = parts[-2] if len(parts) > 1 else "voice"
            out.append(item(pkg, f, "speech", ["speech", "voice", "language:English"], "a voice in English",
                            category=f"voice/{voice_dir}", language="English", voice="a voice", what=what_of(parts[-1])))
        else:
            cat_parts = [p for p in parts[:-1] if p and p.lower() not in ("data", "sounds", "sound", "snd", "sfx", "wav", "audio", "dat", "usr", "share", "games")]
            short = re.sub(r"-(data|common|common-sounds|sounds)$", "", pkg)
            cat_parts = [p for p in cat_parts if p.lower() not in (short, pkg, "etr", "naev")] or [short]
            category = "/".join(cat_parts[-2:])
            out.append(effect_item(pkg, f, category, what_of(parts[-1])))
    return out


def inv_hedgewars() -> list[dict]:
    out = []
    root = "/usr/share/games/hedgewars/Data"
    for e in inv_generic("hedgewars-data", root):
        parts = os.path.relpath(e["file"], root).split("/")
        if len(parts) >= 4 and parts[1] == "voices":
            lang, voice = HEDGEWARS_VOICES.get(parts[2], ("English", "a cartoon voice"))
            what = what_of(parts[-1])
            e = item("hedgewars-data", e["file"], "speech", ["speech", "voice", "cartoon voice", f"language:{lang}"],
                     f"{voice} exclaiming '{what}' in {lang}", category=f"voices/{parts[2]}", language=lang, voice=voice, what=what)
        out.append(e)
    return out


ASTERISK_VOICES = {"es": ("Spanish", "a woman's voice"), "fr": ("French", "a woman's voice"),
                   "it": ("Italian", "a man's voice"), "ru": ("Russian", "a woman's voice")}


def inv_asterisk(pkg: str) -> list[dict]:
    code = pkg.split("-")[-2]
    lang, voice = ASTERISK_VOICES[code]
    out = []
    for f in dpkg_files(pkg):
        if not f.endswith(".g722"):
            continue
        what = words(pathlib.PurePath(f).name)
        sub = pathlib.PurePath(f).parent.name
        out.append(item(pkg, f, "speech", ["speech", "telephone prompt", f"language:{lang}"],
                        f"{voice} saying a telephone system prompt in {lang}", category=f"prompts/{sub}",
                        language=lang, voice=voice, what=what, codec="g722"))
    return out


def inv_freedoom() -> list[dict]:
    out = []
    for wad in ("/usr/share/games/doom/freedoom1.wad", "/usr/share/games/doom/freedoom2.wad"):
        if not os.path.exists(wad):
            continue
        seen = set()
        for name, data in wad_lumps(wad):
            if name in seen:
                continue
            seen.add(name)
            if name.startswith("DS") and data[:2] == b"\x03\x00":
                what = what_of(name[2:].lower())
                e = effect_item("freedoom", f"{wad}:{name}", "doom", FREEDOOM_SOUNDS.get(name[2:], what))
                e["lump"] = True
                out.append(e)
    return out


FREEDOOM_SOUNDS = {"PISTOL": "a pistol shot", "SHOTGN": "a shotgun blast", "SGCOCK": "a shotgun being cocked", "DSHTGN": "a double-barrelled shotgun",
                   "PLASMA": "a plasma gun", "BFG": "a big energy weapon", "RLAUNC": "a rocket launch", "BAREXP": "a barrel exploding",
                   "DOROPN": "a door opening", "DORCLS": "a door closing", "PSTART": "a platform starting", "PSTOP": "a platform stopping",
                   "ITEMUP": "an item pickup", "WPNUP": "a weapon pickup", "TELEPT": "a teleport", "SWTCHN": "a switch", "PLPAIN": "a player in pain",
                   "PLDETH": "a player dying", "OOF": "a grunt", "NOWAY": "a grunt", "SLOP": "a gory splat", "PUNCH": "a punch", "SAWUP": "a chainsaw starting",
                   "SAWIDL": "a chainsaw idling", "SAWFUL": "a chainsaw cutting", "SAWHIT": "a chainsaw hitting"}


def inv_gcompris() -> list[dict]:
    out = []
    root = pathlib.Path("/usr/share/gcompris-qt/rcc")
    for rcc in sorted(root.glob("*.rcc")):
        try:
            entries = rcc_entries(rcc.read_bytes())
        except Exception as ex:
            log.warning("inventory: %s unreadable (%s)", rcc, ex)
            continue
        for path, blob in entries:
            if not path.lower().endswith((".ogg", ".wav", ".mp3", ".opus")) or blob[:4] not in (b"OggS", b"RIFF", b"ID3\x03", b"ID3\x04") and not blob[:2] == b"\xff\xfb":
                continue
            if blob[:4] == b"RIFF" and blob[8:12] != b"WAVE":
                continue
            f = f"{rcc}:{path}"
            parts = path.strip("/").split("/")
            name = parts[-1]
            act = rcc.stem
            low = path.lower()
            if act == "explore_world_music" or "/music/" in low or "background" in low:
                out.append(music_item("gcompris-qt-data", f, title=what_of(name), style="world music excerpt" if act == "explore_world_music" else "music"))
            elif act == "instruments" or "instrument" in low:
                what = what_of(name)
                out.append(item("gcompris-qt-data", f, "effect", ["sound effect", "musical instrument", f"instrument:{what}"],
                                f"a {what} playing a short phrase", category="instruments", what=what))
            elif "/voices" in low:
                continue           # GCompris voices are a separate download, not in this package
            else:
                what = what_of(name)
                out.append(effect_item("gcompris-qt-data", f, act, what))
    return out


def inv_openclonk() -> list[dict]:
    out = [music_item("openclonk-data", f, title=words(pathlib.PurePath(f).name))
           for f in dpkg_files("openclonk-data") if "/Music.ocg/" in f and f.endswith(".ogg")]
    p = "/usr/share/games/openclonk/Sound.ocg"
    if os.path.isfile(p):
        for path, _off, _size in c4group_entries(open(p, "rb").read()):
            if path.lower().endswith((".ogg", ".wav")):
                parts = path.split("/")
                cat = "/".join(x.replace(".ocg", "") for x in parts[:-1][:2]) or "sounds"
                out.append(effect_item("openclonk-data", f"{p}:{path}", cat, what_of(parts[-1])))
    return out


def inv_trigger() -> list[dict]:
    out = []
    z = "/usr/share/games/trigger-rally/data.zip"
    if not os.path.exists(z):
        return out
    for n in sorted(zipfile.ZipFile(z).namelist()):
        if not n.lower().endswith((".ogg", ".wav")):
            continue
        parts = n.split("/")
        if "codriver" in parts:
            what = words(parts[-1])
            voice = {"ab": "a rally co-driver's voice", "paula": "a woman rally co-driver's voice", "tim": "a man rally co-driver's voice"}.get(parts[-2], "a rally co-driver's voice")
            out.append(item("trigger-rally-data", f"{z}:{n}", "speech", ["speech", "rally pace notes", "language:English"],
                            f"{voice} calling '{what}' in English", category=f"codriver/{parts[-2]}", language="English", voice=voice, what=what))
        else:
            out.append(effect_item("trigger-rally-data", f"{z}:{n}", "rally car", what_of(parts[-1])))
    return out


def inv_supertux() -> list[dict]:
    out = []
    for e in inv_generic("supertux-data", "/usr/share/games/supertux2"):
        if e["kind"] == "speech":
            e["voice"] = "Tux's cartoon voice"
            e["caption"] = "a cartoon penguin voice speaking English"
        out.append(e)
    return out


def inv_redeclipse() -> list[dict]:
    out = []
    root = "/usr/share/games/redeclipse/data"
    for e in inv_generic("redeclipse-data", root):
        rel = os.path.relpath(e["file"], root)
        if rel.startswith("maps/") and e["kind"] != "music":
            e = music_item("redeclipse-data", e["file"])
        if e["kind"] == "speech":
            e["voice"] = "an announcer's voice" if "announcer" in rel else "a player's voice"
            e["caption"] = f"{e['voice']} saying '{e['what']}' in English"
        out.append(e)
    return out


def inv_tuxtype() -> list[dict]:
    out = []
    for e in inv_generic("tuxtype-data", "/usr/share/tuxtype"):
        if e["file"].endswith((".ogg",)) and "/sounds/" in e["file"] and e["kind"] == "effect" and any(
                k in e["file"] for k in ("amidst", "chiptune", "tuxi")):
            e = music_item("tuxtype-data", e["file"])
        out.append(e)
    return out


def inv_powermanga() -> list[dict]:
    out = []
    for e in inv_generic("powermanga-data", "/usr/share/games/powermanga"):
        out.append(e)
    return out


def inv_frozen() -> list[dict]:
    out = []
    for e in inv_generic("frozen-bubble-data", "/usr/share/games/frozen-bubble"):
        if re.search(r"zik", e["file"]):
            e = music_item("frozen-bubble-data", e["file"])
        out.append(e)
    return out


def inv_desktop(pkg: str) -> list[dict]:
    out = []
    for e in inv_generic(pkg):
        e["category"] = "desktop notification"
        e["labels"] = ["sound effect", "user interface sound", f"{pkg}:desktop notification"]
        e["caption"] = f"a desktop notification sound, {e['what']}"
        out.append(e)
    return out


def inventory_of(pkg: str) -> list[dict]:
    if pkg == "0ad-data":
        return inv_0ad()
    if pkg == "tuxpaint-stamps-default":
        return inv_tuxpaint_stamps()
    if pkg == "wesnoth-1.16-music":
        return [music_item(pkg, str(p)) for p in sorted(pathlib.Path(v1.WESNOTH_MUSIC).glob("*.ogg"))]
    if pkg in ("openttd-openmsx", "music21"):
        return []            # MIDI: rendered in stage midi
    if pkg == "hedgewars-data":
        return inv_hedgewars()
    if pkg.startswith("asterisk-core-sounds-"):
        return inv_asterisk(pkg)
    if pkg == "freedoom":
        return inv_freedoom()
    if pkg == "gcompris-qt-data":
        return inv_gcompris()
    if pkg == "openclonk-data":
        return inv_openclonk()
    if pkg == "trigger-rally-data":
        return inv_trigger()
    if pkg == "supertux-data":
        return inv_supertux()
    if pkg == "redeclipse-data":
        return inv_redeclipse()
    if pkg == "tuxtype-data":
        return inv_tuxtype()
    if pkg == "frozen-bubble-data":
        return inv_frozen()
    if pkg in ("sound-theme-freedesktop", "oxygen-sounds"):
        return inv_desktop(pkg)
    return inv_generic(pkg)


def stage_inventory() -> list[dict]:
    p = CACHE / "inventory.jsonl"
    if p.exists() and (CACHE / "inventory.done").exists():
        return read_jsonl(p)
    pk = packages()
    out = []
    for pkg in ALLOWLIST:
        if not pk.get(pkg, {}).get("installed"):
            continue
        try:
            items = inventory_of(pkg)
        except Exception as ex:
            log.warning("inventory: %s failed (%s)", pkg, ex)
            items = []
        kinds = collections.Counter(e["kind"] for e in items)
        log.info("inventory: %-30s %5d files %s", pkg, len(items), dict(kinds))
        out += items
    write_atomic(p, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in out))
    (CACHE / "inventory.done").touch()
    return out


# ---------------------------------------------------------------- stage: midi

def midi_tags(path) -> dict:
    import mido
    mid = mido.MidiFile(path)
    progs = {}
    used = set()
    for t in mid.tracks:
        for m in t:
            if m.type == "program_change" and m.channel != 9:
                progs.setdefault(m.channel, m.program)
            if m.type == "note_on" and m.velocity > 0:
                used.add(m.channel)
    programs = {progs.get(c, 0) for c in used if c != 9}
    return {"programs": sorted({GM_PROGRAM_NAMES[p] for p in programs}), "families": sorted({family_of(p) for p in programs}),
            "drums": 9 in used}


def render_sf(mid: pathlib.Path, wav: pathlib.Path, sf2: str) -> None:
    tmp = wav.with_suffix(".tmp.wav")
    subprocess.run(["nice", "-n", "10", "fluidsynth", "-ni", "-q", "-F", str(tmp), "-r", str(SR), "-g", "0.6", sf2, str(mid)],
                   check=True, capture_output=True, timeout=900)
    tmp.replace(wav)


def midi_jobs(score_limit: int) -> list[tuple]:
    """(source, key, kind of input, input, soundfont index) in a fixed order."""
    jobs = []
    for p in sorted(pathlib.Path(v1.OPENMSX).glob("*.mid")):
        for k in range(len(SOUNDFONTS)):
            jobs.append(("openttd-openmsx", f"{p.name}#{SOUNDFONTS[k][0]}", "redraw", str(p), k))
    for wad in ("/usr/share/games/doom/freedoom1.wad", "/usr/share/games/doom/freedoom2.wad"):
        if os.path.exists(wad):
            for name, data in wad_lumps(wad):
                if name.startswith("D_") and data[:4] == b"MThd":
                    k = int(sha1(f"freedoom:{wad}:{name}"), 16) % len(SOUNDFONTS)
                    jobs.append(("freedoom", f"{wad}:{name}#{SOUNDFONTS[k][0]}", "lump", f"{wad}:{name}", k))
    for name, _ in v1.music21_scores(score_limit):
        key = name.split("/corpus/")[-1]
        k = int(sha1(f"music21:{key}"), 16) % len(SOUNDFONTS)
        jobs.append(("music21", f"{key}#{SOUNDFONTS[k][0]}", "score", name, k))
    return jobs


def stage_midi(score_limit: int, hours_cap: float, workers: int = 2) -> None:
    out = CACHE / "midi"
    out.mkdir(parents=True, exist_ok=True)
    index_path = out / "index.jsonl"
    done = {e["wav"]: e for e in read_jsonl(index_path)}
    failed_p = out / "failed.txt"
    failed = set(failed_p.read_text().splitlines()) if failed_p.exists() else set()
    jobs = midi_jobs(score_limit)
    hours = sum(e["seconds"] for e in done.values()) / 3600
    t0 = time.time()

    def prepare(job):
        """The job's MIDI file and tags (music21 and mido run here, in one thread)."""
        source, key, how, src, k = job
        wav = out / (sha1(f"{source}:{key}")[:16] + ".wav")
        rng = random.Random(f"{SEED}:{source}:{key}")
        midpath = wav.with_suffix(".mid")
        if how == "redraw":
            tags = v1.rewrite_midi(src, midpath, rng)
        elif how == "lump":
            wadp, lump = src.rsplit(":", 1)
            midpath.write_bytes(dict(wad_lumps(wadp))[lump])
            tags = midi_tags(midpath)
        else:
            from music21 import converter
            score = converter.parse(src)
            raw = midpath.with_suffix(".orig.mid")
            score.write("midi", fp=str(raw))
            v1.spread_parts(raw)
            tags = v1.rewrite_midi(str(raw), midpath, rng)
            raw.unlink()
        return wav, midpath, tags

    def render(prepared):
        wav, midpath, tags, k = prepared
        import soundfile as sf
        render_sf(midpath, wav, SOUNDFONTS[k][1])
        return sf.info(str(wav)).duration

    def skip(source, key, wav, ex):
        log.warning("midi: %s %s skipped (%s)", source, key, str(ex)[:200])
        with open(failed_p, "a") as f:
            f.write(wav.name + "\n")

    # fluidsynth is one thread: renders run `workers` at a time, in batches taken in the jobs'
    # order and recorded in that order, so the cap keeps exactly the renders a serial run keeps
    # (a render past the cap is deleted unrecorded).
    todo = [j for j in jobs if (sha1(f"{j[0]}:{j[1]}")[:16] + ".wav") not in done.keys() | failed]
    with open(index_path, "a") as index, concurrent.futures.ThreadPoolExecutor(workers) as pool:
        i = 0
        while i < len(todo) and hours < hours_cap:
            batch, i = todo[i:i + workers], i + workers
            prepared = []
            for job in batch:
                try:
                    wav, midpath, tags = prepare(job)
                    prepared.append((job, wav, pool.submit(render, (wav, midpath, tags, job[4])), tags))
                except Exception as ex:
                    prepared.append((job, out / (sha1(f"{job[0]}:{job[1]}")[:16] + ".wav"), ex, None))
            for (source, key, how, src, k), wav, fut, tags in prepared:
                if hours >= hours_cap:
                    if not isinstance(fut, Exception):
                        concurrent.futures.wait([fut])     # the render ends before its file goes
                    wav.unlink(missing_ok=True)
                    continue
                if isinstance(fut, Exception):
                    skip(source, key, wav, fut)
                    continue
                try:
                    seconds = fut.result()
                except Exception as ex:
                    skip(source, key, wav, ex)
                    continue
                entry = {"wav": wav.name, "source": source, "file": key.split("#")[0], "take": key, "seconds": seconds,
                         "soundfont": SOUNDFONTS[k][0], **tags}
                index.write(json.dumps(entry) + "\n")
                index.flush()
                done[wav.name] = entry
                hours += seconds / 3600
                if len(done) % 20 == 0:
                    log.info("midi: %d renders, %.2f h, %.0f s", len(done), hours, time.time() - t0)
    if hours >= hours_cap:
        log.info("midi: cap of %.1f h reached", hours_cap)
    log.info("midi: %d renders, %.2f h", len(done), hours)


def midi_items() -> list[dict]:
    out = []
    for e in read_jsonl(CACHE / "midi" / "index.jsonl"):
        sf_name = {"fluid-soundfont-gm": "FluidR3", "musescore-general-soundfont": "MuseScore General",
                   "timgm6mb-soundfont": "TimGM6mb"}[e["soundfont"]]
        cap = v1.midi_caption(e)
        out.append(item(e["source"], e["file"], "midi", ["music", "midi render"] + [f"gm:{f}" for f in e["families"]]
                        + [f"program:{p}" for p in e["programs"]] + (["drums"] if e["drums"] else []) + [f"soundfont:{sf_name}"],
                        cap, render=str(CACHE / "midi" / e["wav"]), take=e["take"], families=e["families"], programs=e["programs"],
                        soundfont=e["soundfont"], drums=e["drums"]))
    return out


# ---------------------------------------------------------------- stage: decode

_ZIPS: dict = {}


def raw_bytes(e: dict) -> bytes | None:
    """The file's bytes (None for renders and lumps that are decoded from elsewhere)."""
    f = e["file"]
    if e.get("render"):
        return None
    if e["source"] == "0ad-data":
        if v1.ZERO_AD_ZIP not in _ZIPS:
            _ZIPS[v1.ZERO_AD_ZIP] = zipfile.ZipFile(v1.ZERO_AD_ZIP)
        return _ZIPS[v1.ZERO_AD_ZIP].read(f)
    if ":" in f:
        container, member = f.split(":", 1)
        if container.endswith(".zip"):
            if container not in _ZIPS:
                _ZIPS[container] = zipfile.ZipFile(container)
            return _ZIPS[container].read(member)
        if container.endswith(".rcc"):
            key = ("rcc", container)
            if key not in _ZIPS:
                _ZIPS.clear() if len(_ZIPS) > 8 else None
                _ZIPS[key] = dict(rcc_entries(open(container, "rb").read()))
            return _ZIPS[key][member]
        if container.endswith(".ocg"):
            key = ("ocg", container)
            if key not in _ZIPS:
                ents = c4group_entries(open(container, "rb").read())
                _ZIPS[key] = ({p: (o, s) for p, o, s in ents}, _C4CACHE["data"])
            idx, data = _ZIPS[key]
            o, s = idx[member]
            return data[o:o + s]
        if container.endswith(".wad"):
            key = ("wad", container)
            if key not in _ZIPS:
                _ZIPS[key] = dict(wad_lumps(container))
            return _ZIPS[key][member]
    return pathlib.Path(f).read_bytes()


def decode(e: dict, data: bytes | None) -> tuple[np.ndarray, int]:
    """Mono float32 at the file's original rate."""
    import soundfile as sf
    if e.get("render"):
        x, sr = sf.read(e["render"], dtype="float32", always_2d=True)
        return x.mean(axis=1), sr
    if e.get("lump"):
        return dmx_to_pcm(data)
    if e.get("tracker"):
        # openmpt123 --render writes <input>.wav beside its input: render a copy in a folder of
        # this file's own (two files decode at a time; a shared folder let one decode delete the
        # other's render, and 8 of 27 modules were lost from a corpus that way).
        CACHE.mkdir(parents=True, exist_ok=True)
        tmpdir = pathlib.Path(tempfile.mkdtemp(prefix="tmp-tracker-", dir=CACHE))
        try:
            mod = tmpdir / ("module" + pathlib.PurePath(e["file"]).suffix)
            mod.write_bytes(data)
            subprocess.run(["nice", "-n", "10", "openmpt123", "--quiet", "--force", "--samplerate", "44100", "--render", str(mod)],
                           check=True, capture_output=True, timeout=600, cwd=tmpdir)
            x, sr = sf.read(str(mod) + ".wav", dtype="float32", always_2d=True)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        return x.mean(axis=1), sr
    if e.get("codec") == "g722":
        r = subprocess.run(["nice", "-n", "10", "ffmpeg", "-v", "error", "-f", "g722", "-i", "pipe:0", "-f", "f32le", "-ac", "1", "-ar", "16000", "pipe:1"],
                           input=data, capture_output=True, check=True, timeout=300)
        return np.frombuffer(r.stdout, dtype=np.float32).copy(), 16000
    try:
        x, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        return x.mean(axis=1), sr
    except Exception:
        pass
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=sample_rate", "-of", "csv=p=0", "pipe:0"],
                           input=data, capture_output=True, timeout=120)
    sr = int(probe.stdout.decode().strip().split()[0])
    r = subprocess.run(["nice", "-n", "10", "ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "f32le", "-ac", "1", "-ar", str(sr), "pipe:1"],
                       input=data, capture_output=True, check=True, timeout=600)
    return np.frombuffer(r.stdout, dtype=np.float32).copy(), sr


def resample(x: np.ndarray, sr: int) -> np.ndarray:
    if sr == SR:
        return x.astype(np.float32)
    from scipy.signal import resample_poly
    g = np.gcd(int(sr), SR)
    return resample_poly(x, SR // g, int(sr) // g).astype(np.float32)


def window_bandwidths(x: np.ndarray, sr: int) -> tuple[float, list[float]]:
    whole = bwmod.LongTermSpectrum(sr)
    per = []
    n = int(CLIP_S * sr)
    for s in range(0, max(1, len(x)), n):
        w = bwmod.LongTermSpectrum(sr).add(x[s:s + n])
        per.append(round(bwmod.estimate(w.freqs, w.power, sr), 1))
        whole = whole.merged(w)
    if len(per) == 1:
        return per[0], per
    return round(bwmod.estimate(whole.freqs, whole.power, sr), 1), per


BW_VERSION = 2   # 2: no cutoff below 1 kHz. Records of version 1 below 1.5 kHz are measured again.


def stale_bandwidth(r: dict) -> bool:
    return "error" not in r and r.get("bw_version") != BW_VERSION and min([r["bandwidth_hz"]] + r["window_bandwidth_hz"]) < 1500


def item_key(e: dict) -> str:
    return sha1(f"{e['source']}:{e.get('take', e['file'])}")[:20]


def stage_decode(time_budget: float | None = None, workers: int = 2) -> None:
    pcm_dir = CACHE / "pcm"
    pcm_dir.mkdir(parents=True, exist_ok=True)
    rec_p = CACHE / "decoded.jsonl"
    if rec_p.exists() and rec_p.stat().st_size and not rec_p.read_bytes().endswith(b"\n"):
        with open(rec_p, "a") as f:
            f.write("\n")           # a line cut by an interrupted run stays alone (and is redone)
    recs = {r["key"]: r for r in read_jsonl(rec_p)}
    items = all_items()
    # Failures other than "too short" are tried again (a decoder installed since, a fixed bug).
    todo = [e for e in items if item_key(e) not in recs or ("error" in recs[item_key(e)] and "too short" not in recs[item_key(e)]["error"])]
    log.info("decode: %d files, %d done, %d to do", len(items), len(recs), len(todo))
    t0 = time.time()
    secs = 0.0
    def work(e):
        key = item_key(e)
        rec = {"key": key, "source": e["source"], "file": e.get("take", e["file"])}
        try:
            data = raw_bytes(e)
            rec["bytes_sha1"] = sha1(data) if data is not None else None
            x, sr = decode(e, data)
            x = np.nan_to_num(x)
            if len(x) < MIN_ITEM_S * sr:
                raise ValueError(f"too short ({len(x)} samples)")
            bw, per = window_bandwidths(x, sr)
            y = resample(x, sr)
            peak = float(np.max(np.abs(y))) if len(y) else 0.0
            q = np.round(np.clip(y, -1, 1) * 32767).astype(np.int16)
            rec.update({"source_rate": int(sr), "seconds": len(y) / SR, "bandwidth_hz": bw, "window_bandwidth_hz": per, "bw_version": BW_VERSION,
                        "pcm_sha1": sha1(q.tobytes()), "peak": peak})
            np.save(pcm_dir / f"{key}.npy", y.astype(np.float16) if peak < 60000 else y)
        except Exception as ex:
            rec["error"] = str(ex)[:200]
            log.warning("decode: %s %s failed (%s)", e["source"], e["file"], rec["error"])
        return rec

    # Two files at a time (decoders are subprocesses, numpy's FFTs release the GIL); records are
    # written in the files' order, so decoded.jsonl is the serial run's.
    with open(rec_p, "a") as out, concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for n, rec in enumerate(pool.map(work, todo)):
            out.write(json.dumps(rec) + "\n")
            out.flush()
            secs += rec.get("seconds", 0)
            if n % 500 == 0:
                log.info("decode: %d/%d files, %.2f h of audio, %.0f s", n, len(todo), secs / 3600, time.time() - t0)
            if time_budget and time.time() - t0 > time_budget:
                log.warning("decode: time budget reached, %d left", len(todo) - n - 1)
                pool.shutdown(wait=True, cancel_futures=True)
                break
    log.info("decode: done, %.2f h in %.0f s", secs / 3600, time.time() - t0)
    recs = {r["key"]: r for r in read_jsonl(rec_p)}
    stale = [e for e in items if item_key(e) in recs and stale_bandwidth(recs[item_key(e)])]
    if stale:
        log.info("decode: measuring the bandwidth of %d files again (estimator version %d)", len(stale), BW_VERSION)
        with open(rec_p, "a") as out:
            for e in stale:
                r = dict(recs[item_key(e)])
                try:
                    x, sr = decode(e, raw_bytes(e))
                    r["bandwidth_hz"], r["window_bandwidth_hz"] = window_bandwidths(np.nan_to_num(x), sr)
                    r["bw_version"] = BW_VERSION
                except Exception as ex:
                    log.warning("decode: %s %s bandwidth again failed (%s)", e["source"], e["file"], ex)
                    continue
                out.write(json.dumps(r) + "\n")
                out.flush()


def all_items() -> list[dict]:
    """The inventory in ALLOWLIST order, with the MIDI renders after their source's place."""
    inv = read_jsonl(CACHE / "inventory.jsonl")
    mids = midi_items()
    by_src = collections.defaultdict(list)
    for e in inv + mids:
        by_src[e["source"]].append(e)
    out = []
    for pkg in ALLOWLIST:
        out += [e for e in by_src.get(pkg, []) if e["kind"] != "midi"]
        out += [e for e in by_src.get(pkg, []) if e["kind"] == "midi"]
    return out


# ---------------------------------------------------------------- stage: plan

def v1_validation() -> set[tuple[str, str]]:
    """v1's validation files (validation_files_v1.txt, a copy of v1's list) stay in validation."""
    out = set()
    for name in ("validation_files_v1.txt",):
        p = HERE / name
        if p.exists():
            out |= {tuple(l.split("\t", 1)) for l in p.read_text().splitlines() if "\t" in l}
    return out


def is_validation(e: dict, v1val: set) -> bool:
    src, f = e["source"], e["file"]
    if (src, f) in v1val:
        return True
    if v1.is_validation(src, f):
        return True
    h = int(hashlib.sha256(f"v2:{src}:{f}".encode()).hexdigest()[:8], 16)
    return h % 100 < VALIDATION_PERCENT.get(e["kind"], 7) - v1.VALIDATION_PERCENT


def trim(y: np.ndarray) -> tuple[int, int]:
    """Start and end of an item without its leading and trailing near-silence; the natural
    decay above -60 dBFS (or 50 dB under the item's peak) stays."""
    a = np.abs(y.astype(np.float32))
    peak = a.max() if len(a) else 0
    thr = max(10 ** (SILENCE_DB / 20), peak * 10 ** (-50 / 20))
    idx = np.nonzero(a > thr)[0]
    if len(idx) == 0:
        return 0, 0
    s = max(0, idx[0] - int(0.01 * SR))
    t = min(len(y), idx[-1] + int(0.05 * SR))
    return int(s), int(t)


def stage_plan() -> None:
    pk = packages()
    items = all_items()
    recs = {r["key"]: r for r in read_jsonl(CACHE / "decoded.jsonl")}
    v1val = v1_validation()
    seen_bytes, seen_pcm = {}, {}
    dups = []
    good = []
    for e in items:
        r = recs.get(item_key(e))
        if not r or "error" in r:
            continue
        b, p = r.get("bytes_sha1"), r["pcm_sha1"]
        if b and b in seen_bytes:
            dups.append({"source": e["source"], "file": e["file"], "kind": e["kind"], "kept": seen_bytes[b], "by": "bytes", "seconds": r["seconds"]})
            continue
        if p in seen_pcm:
            dups.append({"source": e["source"], "file": e["file"], "kind": e["kind"], "kept": seen_pcm[p], "by": "pcm", "seconds": r["seconds"]})
            continue
        if b:
            seen_bytes[b] = f"{e['source']}:{e['file']}"
        seen_pcm[p] = f"{e['source']}:{e['file']}"
        e = dict(e)
        e["rec"] = r
        e["split"] = "validation" if is_validation(e, v1val) else "train"
        good.append(e)
    clips = []
    reel_pool = collections.defaultdict(list)   # (split, source, kind, group) -> items
    dropped = collections.Counter()
    for e in good:
        r = e["rec"]
        y = np.load(CACHE / "pcm" / f"{r['key']}.npy", mmap_mode="r")
        n = len(y)
        base = {k: e[k] for k in ("source", "file", "kind", "split") if k in e}
        base["key"] = r["key"]
        if n >= MIN_WINDOW_S * SR and (e["kind"] in ("music", "midi") or n >= CLIP_N):
            for s in range(0, n, CLIP_N):
                seg = min(CLIP_N, n - s)
                if seg >= MIN_WINDOW_S * SR:
                    clips.append({**base, "type": "window", "offset": s / SR, "samples": seg, "window": s // CLIP_N})
                elif e["kind"] in ("speech", "effect") and seg >= 0.5 * SR:
                    a, b = trim(np.asarray(y[s:s + seg]))
                    if b - a >= MIN_ITEM_S * SR:
                        reel_pool[reel_group(e)].append((e, s + a, s + b))
                else:
                    dropped["tail seconds"] += seg / SR
        elif e["kind"] in ("music", "midi"):
            dropped["short music seconds"] += n / SR
        else:
            a, b = trim(np.asarray(y))
            if b - a < MIN_ITEM_S * SR:
                dropped["silent items"] += 1
                continue
            if b - a > REEL_ITEM_MAX_S * SR:
                clips.append({**base, "type": "window", "offset": a / SR, "samples": min(CLIP_N, b - a), "window": 0})
            else:
                reel_pool[reel_group(e)].append((e, a, b))
    # Reels: items of one group in inventory order, short pauses between, until 10 s is full.
    leftovers = collections.defaultdict(list)
    for g in sorted(reel_pool, key=lambda g: json.dumps(g)):
        reels, rest = pack(reel_pool[g], g)
        clips += reels
        leftovers[g[:3]] += rest
    for g in sorted(leftovers, key=lambda g: json.dumps(g)):
        reels, rest = pack(leftovers[g], g + ("mixed",))
        clips += reels
        dropped["reel leftovers seconds"] += sum((b - a) / SR for _, a, b in rest)
    with open(CACHE / "plan.jsonl.tmp", "w") as f:
        for c in clips:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    (CACHE / "plan.jsonl.tmp").replace(CACHE / "plan.jsonl")
    write_atomic(CACHE / "duplicates.json", json.dumps({"duplicates": dups, "dropped": dropped}, indent=1))
    log.info("plan: %d clips (%d reels), %d duplicates, dropped %s", len(clips), sum(c["type"] == "reel" for c in clips), len(dups), dict(dropped))


def reel_group(e: dict) -> tuple:
    g = e.get("language") if e["kind"] == "speech" else e.get("category", "sounds")
    return (e["split"], e["source"], e["kind"], g or "")


def pack(entries: list, group: tuple) -> tuple[list[dict], list]:
    """Greedy reels: each item whole (with its natural tail), 0.1–0.4 s pauses between
    (seeded by the group), the next item that fits within a look-ahead of 40."""
    rng = random.Random(f"{SEED}:{json.dumps(group)}")
    queue = list(entries)
    reels = []
    while queue:
        t = 0
        chosen = []
        while True:
            pause = 0 if not chosen else int(rng.uniform(0.1, 0.4) * SR)
            pick = None
            for j, (e, a, b) in enumerate(queue[:40]):
                if t + pause + (b - a) <= CLIP_N:
                    pick = j
                    break
            if pick is None:
                break
            e, a, b = queue.pop(pick)
            start = t + pause
            chosen.append((e, a, b, start))
            t = start + (b - a)
            if CLIP_N - t < 0.3 * SR:
                break
        if t >= MIN_REEL_S * SR:
            ids = "|".join(f"{e['rec']['key']}:{a}" for e, a, _, _ in chosen)
            first = chosen[0][0]
            reels.append({"type": "reel", "source": first["source"], "kind": first["kind"], "split": first["split"],
                          "file": first["file"], "offset": 0.0, "samples": t, "group": list(group), "reel_id": sha1(ids)[:16],
                          "items": [{"key": e["rec"]["key"], "file": e["file"], "src_start": a, "src_end": b, "start": s} for e, a, b, s in chosen]})
        else:
            return reels, [(e, a, b) for e, a, b, _ in chosen] + queue
    return reels, []


# ---------------------------------------------------------------- stage: mel

DESC_SETTINGS = {"loud_db": -18.0, "quiet_db": -35.0, "sparse": 0.5, "dense": 0.9}
# Spectral centroid thresholds (Hz) for "bright" and "dark", per kind: speech is judged against speech.
CENTROID = {"speech": (2200.0, 900.0), "effect": (3500.0, 700.0), "music": (2300.0, 900.0), "midi": (2300.0, 900.0)}


def measure(seg: np.ndarray, spec: np.ndarray, audio_frames: int) -> dict:
    """Level, brightness and density of a clip's real audio: seg (real samples), spec the
    (frames, bins) magnitude spectrogram of the padded clip."""
    seg = seg.astype(np.float64)
    rms = float(np.sqrt(np.mean(seg ** 2) + 1e-20))
    peak = float(np.max(np.abs(seg)) + 1e-20)
    mag = spec[:audio_frames].astype(np.float64)
    p = mag ** 2
    freqs = np.arange(p.shape[1]) * SR / mel.N_FFT
    centroid = float((mag.sum(axis=0) * freqs).sum() / max(mag.sum(), 1e-20))    # magnitude-weighted
    frame_db = 10 * np.log10(p.mean(axis=1) + 1e-20)
    ref = np.percentile(frame_db, 95) if len(frame_db) else -200
    active = float(np.mean(frame_db > max(ref - 30, -85))) if len(frame_db) else 0.0
    return {"rms_dbfs": round(20 * np.log10(rms), 1), "peak_dbfs": round(20 * np.log10(peak), 1),
            "centroid_hz": round(centroid), "active_share": round(active, 3)}


def descriptors(m: dict, kind: str) -> list[str]:
    d = []
    if m["rms_dbfs"] >= DESC_SETTINGS["loud_db"]:
        d.append("loud")
    elif m["rms_dbfs"] <= DESC_SETTINGS["quiet_db"]:
        d.append("quiet")
    bright, dark = CENTROID[kind]
    if m["centroid_hz"] >= bright:
        d.append("bright")
    elif m["centroid_hz"] <= dark:
        d.append("dark")
    if m["active_share"] <= DESC_SETTINGS["sparse"]:
        d.append("sparse")
    elif m["active_share"] >= DESC_SETTINGS["dense"] and kind in ("effect", "speech"):
        d.append("dense")
    return d


def join_words(ws: list[str]) -> str:
    ws = list(dict.fromkeys(w for w in ws if w))
    if len(ws) <= 1:
        return "".join(ws)
    return ", ".join(ws[:-1]) + " and " + ws[-1]


def reel_caption(c: dict, its: list[dict]) -> str:
    kind = c["kind"]
    if kind == "speech":
        e0 = its[0]
        lang = e0.get("language", "English")
        voice = e0.get("voice", "a voice")
        if all(e.get("transcript") or e["source"] == "tuxpaint-stamps-default" for e in its):
            quoted = ", ".join(f"'{e.get('transcript') or e.get('what', '')}'" for e in its[:3])
            return f"{voice} saying short phrases in {lang}: {quoted}" + (" …" if len(its) > 3 else "")
        whats = join_words([e.get("what", "") for e in its[:3]])
        what = {"asterisk": "telephone system prompts"}.get(e0["source"].split("-")[0], None)
        if what:
            return f"{voice} saying {what} in {lang} ({whats})"
        return f"{voice} speaking {lang}: {whats}"
    cats = collections.Counter(e.get("category", "") for e in its)
    cat = cats.most_common(1)[0][0] if len(cats) == 1 else common_prefix([e.get("category", "") for e in its])
    whats = join_words([e.get("what", "") for e in its][:4])
    label = cat.replace("/", " ") if cat else c["source"]
    if its[0].get("category") == "instruments":
        return f"a reel of short musical instrument phrases: {whats}"
    return f"a reel of {label} sound effects: {whats}"


def common_prefix(cats: list[str]) -> str:
    parts = [c.split("/") for c in cats if c]
    if not parts:
        return ""
    out = []
    for xs in zip(*parts):
        if len(set(xs)) == 1:
            out.append(xs[0])
        else:
            break
    return "/".join(out)


def licence_for(e: dict, pk: dict) -> str:
    lic = pk.get(e["source"], {}).get("licence") or "unknown"
    if e.get("soundfont"):
        lic += f"; rendered with {e['soundfont']} ({pk.get(e['soundfont'], {}).get('licence', '?')})"
    return lic


def stage_mel(limit_shards: int | None = None) -> None:
    pk = packages()
    SHARDS.mkdir(parents=True, exist_ok=True)
    parts_dir = CACHE / "manifest-parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    plan = read_jsonl(CACHE / "plan.jsonl")
    plan_sig = sha1(json.dumps(plan))[:16]
    sig_p = CACHE / "plan.sig"
    if not sig_p.exists() or sig_p.read_text() != plan_sig:
        for p in list(parts_dir.glob("*.jsonl")) + list(SHARDS.glob("shard-*.npy")):
            p.unlink()
        sig_p.write_text(plan_sig)
    by_key = {item_key(e): e for e in all_items()}
    recs = {r["key"]: r for r in read_jsonl(CACHE / "decoded.jsonl")}
    n_shards = (len(plan) + SHARD_CLIPS - 1) // SHARD_CLIPS
    t0 = time.time()
    fb = mel.mel_filterbank().astype(np.float32)
    pcm_cache: dict = {}

    def pcm(key):
        if key not in pcm_cache:
            if len(pcm_cache) > 64:
                pcm_cache.clear()
            pcm_cache[key] = np.load(CACHE / "pcm" / f"{key}.npy").astype(np.float32)
        return pcm_cache[key]

    for s in range(n_shards if limit_shards is None else min(n_shards, limit_shards)):
        shard_p = SHARDS / f"shard-{s:05d}.npy"
        part_p = parts_dir / f"{s:05d}.jsonl"
        if shard_p.exists() and part_p.exists():
            continue
        mels, lines = [], []
        for j, c in enumerate(plan[s * SHARD_CLIPS:(s + 1) * SHARD_CLIPS]):
            x = np.zeros(CLIP_N, dtype=np.float32)
            if c["type"] == "window":
                y = pcm(c["key"])
                a = int(round(c["offset"] * SR))
                x[:c["samples"]] = y[a:a + c["samples"]]
                e = by_key[c["key"]]
                its = [e]
                r = recs[c["key"]]
                w = c.get("window", 0)
                pw = r["window_bandwidth_hz"]
                bw = pw[w] if w < len(pw) else r["bandwidth_hz"]
                if c["kind"] in ("speech", "effect") and c["samples"] < CLIP_N and c.get("window", 0) == 0:
                    bw = r["bandwidth_hz"]
                src_rate = r["source_rate"]
            else:
                its = []
                bws, rates = [], []
                for it in c["items"]:
                    y = pcm(it["key"])
                    seg = y[it["src_start"]:it["src_end"]].copy()
                    f = min(len(seg) // 2, int(0.005 * SR))
                    if f > 0:     # 5 ms fades against clicks at cut points
                        ramp = np.linspace(0, 1, f, dtype=np.float32)
                        seg[:f] *= ramp
                        seg[-f:] *= ramp[::-1]
                    x[it["start"]:it["start"] + len(seg)] = seg
                    its.append(by_key[it["key"]])
                    bws.append(recs[it["key"]]["bandwidth_hz"])
                    rates.append(recs[it["key"]]["source_rate"])
                bw = min(bws)
                src_rate = min(rates)
            spec = mel.magnitude_spectrogram(x, np.float32)
            m = mel.normalize_db(fb @ spec.T)[:, :FRAMES].astype(np.float16)
            audio_frames = min(FRAMES, int(c["samples"] / mel.HOP))
            meas = measure(x[:c["samples"]], spec, audio_frames)
            if meas["rms_dbfs"] < SILENCE_DB:
                continue
            e0 = its[0]
            desc = descriptors(meas, c["kind"])
            if c["type"] == "window":
                cap = e0["caption"]
                if c["kind"] == "music" and c["samples"] < CLIP_N and False:
                    pass
            else:
                cap = reel_caption(c, its)
            caption = cap + (f"; {', '.join(desc)}" if desc else "")
            if c["type"] == "window":
                cid = sha1(f"{c['source']}:{e0.get('take', c['file'])}:{c['offset']}")[:16]
            else:
                cid = c["reel_id"]
            labels = list(dict.fromkeys(l for e in its for l in e["labels"]))
            line = {"id": cid, "source": c["source"], "file": c["file"], "offset": round(c["offset"], 4),
                    "duration": round(c["samples"] / SR, 4), "padded": c["samples"] < CLIP_N, "split": c["split"],
                    "kind": c["kind"], "labels": labels, "caption": caption, "category": e0.get("category", ""),
                    "licence": licence_for(e0, pk), "licence_file": pk.get(c["source"], {}).get("copyright", ""),
                    "source_rate": int(src_rate), "bandwidth_hz": float(bw),
                    "full_band": bool(bwmod.full_band(bw, src_rate)), **meas, "descriptors": desc, "clip_type": c["type"]}
            for k in ("language", "transcript", "take", "families", "programs", "soundfont", "title"):
                if k in e0 and c["type"] == "window":
                    line[k] = e0[k]
            if c["type"] == "reel" and "language" in e0:
                line["language"] = e0["language"]
            if c["type"] == "reel":
                line["items"] = [{"file": it["file"], "start": round(it["start"] / SR, 4),
                                  "end": round((it["start"] + it["src_end"] - it["src_start"]) / SR, 4),
                                  **({"offset": round(it["src_start"] / SR, 4)} if it["src_start"] else {}),
                                  "labels": e["labels"], "caption": e["caption"],
                                  **({"transcript": e["transcript"]} if "transcript" in e else {})}
                                 for it, e in zip(c["items"], its)]
            else:
                # One item, the window itself: its labels and caption are the clip's.
                line["items"] = [{"file": c["file"], "start": 0.0, "end": round(c["samples"] / SR, 4), "offset": round(c["offset"], 4)}]
            mels.append(m)
            lines.append(line)
        np.save(shard_p.with_suffix(".tmp.npy"), np.stack(mels) if mels else np.zeros((0, 80, FRAMES), np.float16))
        shard_p.with_suffix(".tmp.npy").replace(shard_p)
        for j, line in enumerate(lines):
            line["shard"], line["index"] = s, j
        write_atomic(part_p, "".join(json.dumps(l, ensure_ascii=False) + "\n" for l in lines))
        if s % 5 == 0:
            log.info("mel: shard %d/%d, %.0f s", s + 1, n_shards, time.time() - t0)
    if limit_shards is not None:
        return
    write_manifest_gz(MANIFEST, "".join((parts_dir / f"{s:05d}.jsonl").read_text() for s in range(n_shards)))
    log.info("mel: manifest written, %d shards, %.0f s", n_shards, time.time() - t0)


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", choices=["all", "install", "inventory", "midi", "decode", "plan", "mel", "stats"], default="all")
    ap.add_argument("--scores", type=int, default=500)
    ap.add_argument("--midi-hours", type=float, default=MIDI_HOURS)
    ap.add_argument("--limit-shards", type=int, default=None, help="mel: only the first N shards (a test)")
    ap.add_argument("--decode-budget", type=float, default=None, help="seconds; stop decoding after this")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.FileHandler(LOGS / "data-v2.log"), logging.StreamHandler()])
    try:
        os.nice(10)
    except OSError:
        pass
    t0 = time.time()
    st = args.stage
    timing_p = CACHE / "timing.json"
    timing = json.loads(timing_p.read_text()) if timing_p.exists() else {}

    def run(name, fn, *a):
        t = time.time()
        fn(*a)
        timing[name] = timing.get(name, 0.0) + time.time() - t     # summed over resumed runs
        write_atomic(timing_p, json.dumps(timing, indent=1))

    if st in ("all", "install"):
        run("install", stage_install)
    if st in ("all", "inventory"):
        run("inventory", stage_inventory)
    if st in ("all", "decode"):
        run("decode", stage_decode, args.decode_budget)     # recorded audio first: the hour targets
    if st in ("all", "midi"):
        run("midi", stage_midi, args.scores, args.midi_hours)
    if st in ("all", "decode"):
        run("decode", stage_decode, args.decode_budget)     # the renders
    if st in ("all", "plan"):
        run("plan", stage_plan)
    if st in ("all", "mel"):
        run("mel", stage_mel, args.limit_shards)
    if st in ("all", "stats"):
        import stats_v2
        stats_v2.stage_stats()
    log.info("stage %s done in %.0f s", st, time.time() - t0)


if __name__ == "__main__":
    main()
