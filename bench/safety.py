#!/usr/bin/env python3
"""Safety bench (issue 14): nothing we ship may make a good recording worse.

Builds a scripted evaluation set from the audio of Debian packages on the project's
allowlist only (never any other package's audio; the audio is never committed: it is
cached under training/data/cache/safety/, which git ignores), runs the release binary on
it and prints a table; the numbers go to bench/results/safety.json.

    make pretrained                      # the vocoder bwe needs (once)
    swift build -c release --scratch-path .build-bw --product restore
    .venv/bin/python bench/safety.py [--binary .build-bw/release/restore] [--rebuild]

Sources (installed with apt if missing): wesnoth-1.16-music, hedgewars-data,
supertux-data, warzone2100-music (music); tuxpaint-stamps-default and hedgewars-data voices
(speech); 0ad-data (public.zip: effects, voices), sound-theme-freedesktop, oxygen-sounds,
supertux-data (effects). lame and sox from Debian make the MP3s and one of the resamplers.

Categories (ground truth in brackets):
- nosignal: digital silence, DC, a 16-bit 1 kHz sine [no measurable bandwidth; bwe auto
  leaves them unchanged].
- natural22: excerpts resampled to 22 050 Hz from 44.1/48 kHz sources [full band]. Only
  sources with content above 11.5 kHz are used (their 11.5–13.5 kHz band within 60 dB of
  their 1–4 kHz band and above the 16-bit floor): content above the new Nyquist proves the
  band below it was not cut, independently of the estimator. (Vorbis and Opus sources carry
  their own encoder cutoff at 15–20 kHz, which is a real cutoff at 44.1 kHz but lies above
  11 kHz, hence the resampling.)
- natural44: sources kept at 44.1 kHz whose content reaches 20 kHz (same test, 20–21 kHz
  band) [full band], and the same excerpt at 22.05 kHz [full band].
- lowpass: natural22 items low-passed at 3, 4, 5.5 and 7 kHz (1023-tap Kaiser FIR, ~80 dB
  stop band) [cut at that frequency]; four of them also at 44.1 kHz [the same cutoff].
- resampled: speech and music resampled to 8, 11.025 and 16 kHz with sox and with scipy
  (resample_poly) [full band at that rate: bandwidth near its Nyquist, not a cut].
- mp3: music with strong content at 17–19.5 kHz (within 30 dB of its 1–4 kHz band) through
  lame at 64, 128 and 192 kbit/s [cut at lame's low-pass: the start of the transition band
  lame logs].
- telephone: speech band-passed 300–3400 Hz at 8 kHz [cut at 3400 Hz].
- dropouts: music excerpts and speech sequences (five phrases joined by 150–600 ms gaps
  over a room-noise floor 50 dB down) with three digital-silence dropouts each, of 20, 40,
  80, 150 or 300 ms (20 ms is the default --min-dropout), where the 10 ms frames of the
  200 ms around are within 12 dB of the loud level [each one found].
- gated: speech and effect sequences over a noise floor through a noise gate (threshold
  30–40 dB under the loud level, 20 ms hold, release 0–50 ms), and music gated 25 dB
  under its loud level (music seldom closes it) [no dropout; a real fill-gap --detect
  leaves them unchanged].
- pauses: speech phrases joined by 150–600 ms of digital silence, quiet stretches inside
  them (40 dB down for 120 ms or more) set to digital silence [no dropout].

Run time: about a minute on two busy cores (the set is built once, ~3 min).
"""
import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import soundfile as sf
from scipy import signal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "training"))
from restore_train.metrics import lsd  # noqa: E402

CACHE = os.path.join(ROOT, "training", "data", "cache", "safety")
ALLOWED = ["wesnoth-1.16-music", "0ad-data", "tuxpaint-stamps-default", "hedgewars-data", "supertux-data",
           "warzone2100-music", "sound-theme-freedesktop", "oxygen-sounds"]
TOOLS = ["lame", "sox"]


def ensure_packages():
    missing = [p for p in ALLOWED + TOOLS
               if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if missing:
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=900", "install", "-y"] + missing, check=True)


def rng_for(name):
    return np.random.default_rng(int(hashlib.sha1(name.encode()).hexdigest()[:8], 16))


def read(path):
    x, sr = sf.read(path, dtype="float64", always_2d=True)
    return x, sr


def write(path, x, sr):
    x = np.clip(x, -1, 32767 / 32768)
    sf.write(path, x, sr, subtype="PCM_16")


def resample(x, sr, to):
    if sr == to:
        return x
    g = np.gcd(int(sr), int(to))
    return signal.resample_poly(x, int(to) // g, int(sr) // g, axis=0)


def band_level(x, sr, lo, hi):
    """Mean power per bin (dB, per-sample-variance units: 16-bit quantisation ≈ −101 dB)."""
    m = x.mean(axis=1)
    n = 8192
    if len(m) < n:
        m = np.pad(m, (0, n - len(m)))
    f, p = signal.welch(m, sr, window="blackmanharris", nperseg=n, scaling="spectrum")
    p = p * n / (sr / 2) * (sr / n)  # power per bin → roughly per-sample variance per bin
    sel = (f >= lo) & (f < hi)
    return 10 * np.log10(np.mean(p[sel]) + 1e-30) + 10 * np.log10(n / 2)


def content_above(x, sr, lo, hi):
    """True when the band [lo, hi) is within 60 dB of 1–4 kHz and above the 16-bit floor."""
    ref = band_level(x, sr, 1000, 4000)
    top = band_level(x, sr, lo, hi)
    return top >= ref - 60 and top >= -95, ref, top


def excerpt(x, sr, seconds, name):
    """A loud stretch of `seconds` (the whole file if shorter)."""
    n = int(seconds * sr)
    if len(x) <= n:
        return x
    start = int(min(len(x) - n, max(0, len(x) // 4)))
    return x[start:start + n]


def sources():
    """(name, kind, path-or-bytes loader) of allowlisted audio, sorted and deterministic."""
    out = []
    def add(kind, pattern, limit, prefix):
        for p in sorted(glob.glob(pattern))[:limit]:
            out.append((f"{prefix}-{os.path.splitext(os.path.basename(p))[0]}", kind, p))
    add("music", "/usr/share/games/wesnoth/1.16/data/core/music/*.ogg", 14, "wesnoth")
    add("music", "/usr/share/games/hedgewars/Data/Music/*.ogg", 10, "hedgewars")
    add("music", "/usr/share/games/supertux2/music/*/*.ogg", 10, "supertux")
    add("music", "/usr/share/games/warzone2100/music/albums/*/*.opus", 6, "wz2100")
    add("effect", "/usr/share/sounds/freedesktop/stereo/*.oga", 20, "freedesktop")
    add("effect", "/usr/share/sounds/Oxygen-*.ogg", 20, "oxygen")
    add("effect", "/usr/share/games/hedgewars/Data/Sounds/*.ogg", 20, "hwsound")
    add("speech", "/usr/share/games/hedgewars/Data/Sounds/voices/British/*.ogg", 30, "hwvoice")
    add("speech", "/usr/share/tuxpaint/stamps/*/*/*_desc.ogg", 60, "tuxpaint")
    return out


def zad_sources():
    z = "/usr/share/games/0ad/mods/public/public.zip"
    if not os.path.exists(z):
        return []
    names = sorted(zipfile.ZipFile(z).namelist())
    pick = []
    for folder, kind, n in [("audio/ambient/", "effect", 10), ("audio/actor/fauna/", "effect", 10),
                            ("audio/attack/impact/", "effect", 8), ("audio/voice/greek/civ/", "speech", 20)]:
        pick += [(f"0ad-{os.path.splitext(os.path.basename(p))[0]}", kind, z + "::" + p)
                 for p in names if p.startswith(folder) and p.endswith(".ogg")][:n]
    return pick


def load(path):
    if "::" in path:
        z, inner = path.split("::")
        tmp = os.path.join(CACHE, "tmp-" + os.path.basename(inner))
        with open(tmp, "wb") as f:
            f.write(zipfile.ZipFile(z).read(inner))
        try:
            return read(tmp)
        finally:
            os.remove(tmp)
    return read(path)


def fir_lowpass(x, sr, cutoff):
    h = signal.firwin(1023, cutoff, window=("kaiser", 8.0), fs=sr)
    return signal.fftconvolve(x, h[:, None], mode="same")


def frame_db(m, sr, win=0.010):
    n = int(win * sr)
    k = len(m) // n
    e = (m[:k * n].reshape(k, n) ** 2).mean(axis=1)
    return 10 * np.log10(e + 1e-20), n


def gate(x, sr, threshold_db, hold=0.020, release=0.0, attack=0.001):
    """A noise gate: closed (digital silence) while the 10 ms level stays under the threshold."""
    m = np.abs(x).max(axis=1)
    db, n = frame_db(m, sr, 0.005)
    open_ = db >= threshold_db
    hold_frames = int(hold / 0.005)
    g = np.zeros(len(open_))
    last = -10 ** 9
    for i, o in enumerate(open_):
        if o:
            last = i
        g[i] = 1.0 if i - last <= hold_frames else 0.0
    gain = np.repeat(g, n)
    gain = np.pad(gain, (0, len(x) - len(gain)))
    # Attack and release as one-pole smoothing, then exact zeros where closed.
    out = np.empty_like(gain)
    a_up = 1 - np.exp(-1 / max(1, attack * sr))
    a_dn = 1 - np.exp(-1 / max(1, release * sr)) if release > 0 else 1.0
    y = 0.0
    for i, t in enumerate(gain):
        y += (a_up if t > y else a_dn) * (t - y)
        out[i] = y if y > 1e-4 else 0.0
    return x * out[:, None]


def build(args):
    os.makedirs(CACHE, exist_ok=True)
    manifest_path = os.path.join(CACHE, "manifest.json")
    if os.path.exists(manifest_path) and not args.rebuild:
        return json.load(open(manifest_path))
    ensure_packages()
    items = []
    def put(cat, name, x, sr, **truth):
        path = os.path.join(CACHE, cat, name + ".wav")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write(path, x, sr)
        items.append(dict(category=cat, name=name, path=path, rate=sr, **truth))
        return path

    natural = []  # (name, kind, x22, source, source rate)
    full44 = []  # (name, x) at 44.1 kHz with content up to 20 kHz
    strong_hf = []  # (name, x at 44.1 kHz) with 17–19.5 kHz within 30 dB of 1–4 kHz
    natural44 = 0
    want = {"music": 14, "effect": 10, "speech": 8}
    have = {k: 0 for k in want}
    for name, kind, path in sources() + zad_sources():
        if have[kind] >= want[kind] and (kind != "music" or (natural44 >= 4 and len(strong_hf) >= 5)):
            continue
        try:
            x, sr = load(path)
        except Exception:
            continue
        if sr < 44100 or len(x) < 0.4 * sr:
            continue
        x = excerpt(x, sr, 20 if kind == "music" else 8, name)
        if np.sqrt(np.mean(x ** 2)) < 1e-3:
            continue
        ok, ref, top = content_above(x, sr, 11500, 13500)
        if not ok:
            continue
        if kind == "music" and len(strong_hf) < 5 and band_level(x, sr, 17000, 19500) >= ref - 30:
            strong_hf.append((name, resample(x, sr, 44100)))
        if kind == "music" and natural44 < 4 and sr == 44100 and content_above(x, sr, 20000, 21000)[0]:
            put("natural44", name, x, sr, truth="full")
            full44.append((name, x))
            natural44 += 1
        if have[kind] < want[kind]:
            x22 = resample(x, sr, 22050)
            put("natural22", name, x22, 22050, truth="full", kind=kind)
            natural.append((name, kind, x22, x, sr))
            have[kind] += 1

    # No measurable bandwidth: silence, DC, a 16-bit sine.
    t = np.arange(int(3 * 22050)) / 22050
    for name, y in [("silence", np.zeros_like(t)), ("dc", np.full_like(t, 0.3)), ("sine1k", 0.5 * np.sin(2 * np.pi * 1000 * t))]:
        put("nosignal", name, y[:, None], 22050, truth="none")
    speech = [n for n in natural if n[1] == "speech"]
    music = [n for n in natural if n[1] == "music"]
    # Low-passed at 22.05 kHz, and four at 44.1 kHz (the same recording at both rates).
    for i, (name, kind, x22, x, sr) in enumerate(natural[::4][:8]):
        for fc in [3000, 4000, 5500, 7000]:
            put("lowpass", f"{name}-lp{fc}", fir_lowpass(x22, 22050, fc), 22050, truth="cut", cutoff=fc, source=name)
            if i < 4:
                x44 = resample(x, sr, 44100)
                put("lowpass44", f"{name}-lp{fc}", fir_lowpass(x44, 44100, fc), 44100, truth="cut", cutoff=fc, source=name)
    # Resampled to 8, 11.025 and 16 kHz: sox and scipy.
    for name, kind, x22, x, sr in speech[:4] + music[:4]:
        src = os.path.join(CACHE, "tmp-src.wav")
        write(src, x22, 22050)
        for to in [8000, 11025, 16000]:
            out = os.path.join(CACHE, "resampled", f"{name}-sox{to}.wav")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            subprocess.run(["sox", src, "-b", "16", out, "rate", "-v", str(to)], check=True)
            items.append(dict(category="resampled", name=f"{name}-sox{to}", path=out, rate=to, truth="full", tool="sox"))
            put("resampled", f"{name}-scipy{to}", resample(x22, 22050, to), to, truth="full", tool="scipy")
        os.remove(src)
    # MP3 through lame, from music whose 17–19.5 kHz band is within 30 dB of its 1–4 kHz band
    # (so lame's low-pass, not the source's own roll-off or encoder, makes the edge).
    for name, x44 in strong_hf:
        src = os.path.join(CACHE, "tmp-src.wav")
        write(src, x44, 44100)
        for kbps in [64, 128, 192]:
            mp3 = os.path.join(CACHE, "tmp.mp3")
            r = subprocess.run(["lame", "-b", str(kbps), "--resample", "44.1", src, mp3], capture_output=True, text=True)
            cut = None
            for line in r.stderr.splitlines():
                if "lowpass filter, transition band" in line:
                    cut = float(line.split(":")[1].split("Hz")[0].split("-")[0].strip())
            out = os.path.join(CACHE, "mp3", f"{name}-{kbps}k.wav")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            subprocess.run(["lame", "--decode", mp3, out], capture_output=True, check=True)
            items.append(dict(category="mp3", name=f"{name}-{kbps}k", path=out, rate=44100, truth="cut", cutoff=cut))
            os.remove(mp3)
        os.remove(src)
    # Telephone band at 8 kHz.
    for name, kind, x22, x, sr in speech[:8]:
        b = signal.firwin(1023, [300, 3400], pass_zero=False, window=("kaiser", 8.0), fs=22050)
        y = signal.fftconvolve(x22, b[:, None], mode="same")
        put("telephone", f"{name}-tel", resample(y, 22050, 8000), 8000, truth="cut", cutoff=3400)
    effects = [n for n in natural if n[1] == "effect"]

    def sequence(clips, k, noise_db):
        """Clips joined by 150–600 ms gaps, over a recording's noise floor `noise_db` under
        the loud level (digital silence between them when None)."""
        rng = rng_for(f"seq{k}")
        parts = []
        for j in range(5):
            parts.append(clips[(k + j) % len(clips)][2])
            parts.append(np.zeros((int(rng.uniform(0.15, 0.6) * 22050), 2)))
        parts = [np.repeat(p, 2, axis=1)[:, :2] if p.shape[1] == 1 else p[:, :2] for p in parts]
        y = np.concatenate([np.zeros((int(0.3 * 22050), 2))] + parts)
        if noise_db is not None:
            db, _ = frame_db(np.abs(y).max(axis=1), 22050)
            loud = np.percentile(db[db > -100], 90)
            noise = rng.standard_normal(y.shape)
            noise = signal.lfilter([0.05], [1, -0.95], noise, axis=0)   # a warm room-noise tilt
            noise *= 10 ** ((loud - noise_db) / 20) / np.sqrt(np.mean(noise ** 2))
            y = y + noise
        return y

    noisy_speech = [(f"speechseq{k}", "speech", sequence(speech, k, 50), None, None) for k in range(min(6, len(speech)))]
    noisy_effects = [(f"effectseq{k}", "effect", sequence(effects, k, 55), None, None) for k in range(min(3, len(effects)))]
    # Dropouts in loud passages: digital silence on every channel.
    for name, kind, x22, x, sr in (music[:8] + noisy_speech[:6]):
        rng = rng_for(name)
        y = x22.copy()
        db, n = frame_db(np.abs(y).max(axis=1), 22050)
        loud = np.percentile(db[db > -100], 90)
        spans = []
        for length in rng.choice([0.02, 0.04, 0.08, 0.15, 0.3], size=3, replace=False):
            for _ in range(500):
                s = int(rng.integers(int(0.3 * 22050), len(y) - int(0.6 * 22050)))
                e = s + int(length * 22050)
                a, b = (s - int(0.1 * 22050)) // n, (e + int(0.1 * 22050)) // n
                if a < 0 or b >= len(db) or db[a:b].min() < loud - 12:
                    continue
                if any(s < t1 + 22050 * 0.3 and e > t0 - 22050 * 0.3 for t0, t1 in spans):
                    continue
                spans.append((s, e))
                break
        for s, e in spans:
            y[s:e] = 0
        put("dropouts", f"{name}-drop", y, 22050, truth="dropouts",
            spans=[[s / 22050, e / 22050] for s, e in sorted(spans)])
    # Noise-gated recordings (no damage): speech and effects over a noise floor, and music.
    gated = noisy_speech + noisy_effects + music[:7]
    for i, (name, kind, x22, x, sr) in enumerate(gated[:16]):
        db, n = frame_db(np.abs(x22).max(axis=1), 22050, 0.005)
        loud = np.percentile(db[db > -100], 90)
        thr = loud - ([30, 35, 40][i % 3] if kind != "music" else 25)
        rel = [0.0, 0.005, 0.05, 0.02][i % 4]
        y = gate(x22, 22050, thr, release=rel)
        sil = (np.abs(y) <= 1 / 32768).all(axis=1)
        edges = np.diff(np.concatenate([[0], sil.astype(int), [0]]))
        runs = sum(1 for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
                   if b - a >= 0.02 * 22050 and a > 0 and b < len(y))
        put("gated", f"{name}-gate", y, 22050, truth="none", silent_runs=runs)
    # Speech with natural digital-silence pauses: phrases joined by silence, quiet stretches
    # inside them (40 dB under the loud level for 120 ms or more) set to digital silence.
    for k in range(min(6, len(speech))):
        y = sequence(speech, k + 3, None)
        db, n = frame_db(np.abs(y).max(axis=1), 22050)
        loud = np.percentile(db[db > -100], 90)
        quiet = np.repeat(db < loud - 40, n)
        quiet = np.pad(quiet, (0, len(y) - len(quiet)))
        idx = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(int), [0]])))
        for s, e in zip(idx[::2], idx[1::2]):
            if e - s >= int(0.12 * 22050):
                y[s:e] = 0
        sil = (np.abs(y) <= 1 / 32768).all(axis=1)
        edges = np.diff(np.concatenate([[0], sil.astype(int), [0]]))
        runs = sum(1 for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
                   if b - a >= 0.02 * 22050 and a > 0 and b < len(y))
        put("pauses", f"speech-pauses{k}", y, 22050, truth="none", silent_runs=runs)
    json.dump(items, open(manifest_path, "w"), indent=1)
    return items


def run(binary, args, **kw):
    return subprocess.run([binary] + args, capture_output=True, text=True, **kw)


def info(binary, paths):
    out = {}
    for i in range(0, len(paths), 40):
        chunk = paths[i:i + 40]
        r = run(binary, ["info", "--json"] + chunk)
        # One JSON line per file; its report holds the measurements (snake_case).
        for line in r.stdout.splitlines():
            d = json.loads(line)
            out[d["input"]] = d["report"]
    return out


def evaluate(items, binary):
    res = {"estimator": {}, "bwe": {}, "dropouts": {}}
    t0 = time.time()
    reports = info(binary, [it["path"] for it in items])
    # Estimator per category.
    cats = {}
    for it in items:
        r = reports[it["path"]]
        it["report"] = {k: r[k] for k in ["bandwidth", "full_band", "bandwidth_kind", "bandwidth_confident", "dropouts"]}
        cats.setdefault(it["category"], []).append(it)
    table = []
    for cat, its in cats.items():
        if cat in ("dropouts", "gated", "pauses"):
            continue
        called_cut = [it for it in its if it["report"]["bandwidth_kind"] == "cut"]
        row = {"items": len(its), "called_cut": len(called_cut)}
        if its[0]["truth"] == "cut":
            errs = [abs(it["report"]["bandwidth"] - it["cutoff"]) / it["cutoff"] for it in its
                    if it.get("cutoff") and it["report"]["bandwidth_kind"] == "cut"]
            row["found"] = len(errs)
            row["median_error"] = float(np.median(errs)) if errs else None
            row["max_error"] = float(np.max(errs)) if errs else None
            row["within_5pct"] = int(sum(e <= 0.05 for e in errs))
        else:
            row["lowest_bandwidth"] = float(min(it["report"]["bandwidth"] for it in its))
            row["lowest_bandwidth_over_nyquist"] = float(min(it["report"]["bandwidth"] / (it["rate"] / 2) for it in its))
        row["wrong"] = [it["name"] for it in its if (it["report"]["bandwidth_kind"] == "cut") != (it["truth"] == "cut")
                        or (it["truth"] == "none") != (it["report"]["bandwidth_kind"] == "none")]
        res["estimator"][cat] = row
    # Same recording at 22.05 and 44.1 kHz.
    lp22 = {(it["source"], it["cutoff"]): it for it in cats.get("lowpass", [])}
    agree = []
    for it in cats.get("lowpass44", []):
        other = lp22.get((it["source"], it["cutoff"]))
        if other:
            a, b = it["report"]["bandwidth"], other["report"]["bandwidth"]
            agree.append(abs(a - b) / it["cutoff"])
    res["estimator"]["rate_agreement_max_rel_diff"] = float(max(agree)) if agree else None
    res["estimator"]["seconds"] = time.time() - t0

    # bwe auto on every natural full-band item: the output must equal the input.
    t0 = time.time()
    outdir = os.path.join(CACHE, "out-bwe")
    os.makedirs(outdir, exist_ok=True)
    worst, changed = 0.0, []
    nat = cats.get("natural22", []) + cats.get("natural44", []) + cats.get("nosignal", [])
    for it in nat:
        out = os.path.join(outdir, it["category"] + "-" + it["name"] + ".wav")
        r = run(binary, ["bwe", "--quiet", "--overwrite", it["path"], "-o", out])
        if r.returncode != 0:
            changed.append(it["name"] + " (failed: " + r.stderr.strip()[:120] + ")")
            continue
        x, sr = read(it["path"])
        y, sr2 = read(out)
        if sr2 != sr or y.shape != x.shape:
            d = float("inf")
        else:
            d = max(lsd(x[:, c], y[:, c], sr=sr) for c in range(x.shape[1]))
        if d > 0:
            changed.append(it["name"])
        worst = max(worst, d)
    res["bwe"] = {"items": len(nat), "changed": changed, "max_lsd": worst, "seconds": time.time() - t0}

    # Dropouts: --list on every item of the three categories.
    t0 = time.time()
    found = total = 0
    missed = []
    for it in cats.get("dropouts", []):
        r = run(binary, ["fill-gap", "--detect", "--list", "--json", it["path"]])
        listed = json.loads(r.stdout)["report"]["gaps"]
        it["listed"] = listed
        for s, e in it["spans"]:
            total += 1
            if any(abs(g["start"] - s) < 0.002 and abs(g["end"] - e) < 0.002 for g in listed):
                found += 1
            else:
                missed.append(f"{it['name']}@{s:.3f}")
        it["false"] = sum(1 for g in listed if not any(abs(g["start"] - s) < 0.002 for s, _ in it["spans"]))
    res["dropouts"]["inserted"] = {"files": len(cats.get("dropouts", [])), "dropouts": total, "found": found,
                                   "missed": missed, "extra": int(sum(it["false"] for it in cats.get("dropouts", [])))}
    for cat in ("gated", "pauses"):
        flagged = []
        for it in cats.get(cat, []):
            r = run(binary, ["fill-gap", "--detect", "--list", "--json", it["path"]])
            listed = json.loads(r.stdout)["report"]["gaps"]
            if listed:
                flagged.append(f"{it['name']} ({len(listed)})")
        res["dropouts"][cat] = {"files": len(cats.get(cat, [])), "files_with_detections": flagged,
                                "silent_runs": int(sum(it.get("silent_runs", 0) for it in cats.get(cat, [])))}
    # A real fill-gap --detect on the undamaged files: none may change; and on two damaged
    # files, the report's count.
    outdir = os.path.join(CACHE, "out-fill")
    os.makedirs(outdir, exist_ok=True)
    unchanged = True
    for it in cats.get("gated", [])[:4] + cats.get("pauses", [])[:2]:
        out = os.path.join(outdir, it["name"] + ".wav")
        run(binary, ["fill-gap", "--detect", "--quiet", "--overwrite", it["path"], "-o", out])
        x, _ = read(it["path"])
        y, _ = read(out)
        unchanged = unchanged and x.shape == y.shape and np.array_equal(x, y)
    res["dropouts"]["undamaged_unchanged_by_fill"] = unchanged
    fills = []
    for it in cats.get("dropouts", [])[:2]:
        out = os.path.join(outdir, it["name"] + ".wav")
        r = run(binary, ["fill-gap", "--detect", "--quiet", "--json", "--overwrite", it["path"], "-o", out])
        rep = json.loads(r.stdout)["report"] if r.returncode == 0 else {}
        fills.append({"name": it["name"], "inserted": len(it["spans"]), "filled": rep.get("filled")})
    res["dropouts"]["fills"] = fills
    res["dropouts"]["seconds"] = time.time() - t0
    return res


def print_table(res):
    print(f"{'category':<12} {'items':>5} {'called cut':>10} {'found':>6} {'med err':>8} {'max err':>8} {'≤5%':>4} {'lowest bw':>10}")
    for cat, r in res["estimator"].items():
        if not isinstance(r, dict):
            continue
        def f(v, pct=False):
            return "-" if v is None else (f"{100 * v:.1f}%" if pct else f"{v:.0f}")
        print(f"{cat:<12} {r['items']:>5} {r['called_cut']:>10} {f(r.get('found')):>6} {f(r.get('median_error'), True):>8} "
              f"{f(r.get('max_error'), True):>8} {f(r.get('within_5pct')):>4} {f(r.get('lowest_bandwidth')):>10}")
    print(f"rate agreement (same low-passed recording at 22.05 vs 44.1 kHz): max rel. diff "
          f"{res['estimator']['rate_agreement_max_rel_diff']:.3f}")
    b = res["bwe"]
    print(f"bwe --cutoff auto on {b['items']} natural full-band and no-signal items: {len(b['changed'])} changed, max LSD {b['max_lsd']:.2f}")
    wrong = sorted(n for r in res["estimator"].values() if isinstance(r, dict) for n in r.get("wrong", []))
    print(f"items whose kind (cut / full band / none) is wrong: {len(wrong)} {wrong[:8]}")
    d = res["dropouts"]
    i = d["inserted"]
    print(f"fill-gap --detect: {i['found']}/{i['dropouts']} inserted dropouts found ({i['extra']} extra detections) in {i['files']} files")
    for cat in ("gated", "pauses"):
        print(f"  {cat}: {len(d[cat]['files_with_detections'])}/{d[cat]['files']} undamaged files with detections "
              f"({d[cat]['silent_runs']} interior digital-silence runs of 20 ms or more in them)")
    print(f"  undamaged files unchanged by a real fill-gap --detect: {d['undamaged_unchanged_by_fill']}; fills: {d['fills']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build-bw", "release", "restore"))
    ap.add_argument("--rebuild", action="store_true", help="rebuild the evaluation set")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "safety.json"))
    args = ap.parse_args()
    t0 = time.time()
    items = build(args)
    built = time.time() - t0
    res = evaluate(items, args.binary)
    res["set"] = {c: sum(1 for it in items if it["category"] == c) for c in sorted({it["category"] for it in items})}
    res["build_seconds"] = built
    res["total_seconds"] = time.time() - t0
    res["command"] = "python bench/safety.py --binary " + os.path.relpath(args.binary, ROOT)
    res["items"] = [{k: v for k, v in it.items() if k not in ("path",)} for it in items]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump(res, open(args.out, "w"), indent=1, default=float)
    print_table(res)
    print(f"set: {res['set']}; {res['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
