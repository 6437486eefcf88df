"""Stage stats of training/data/prepare_v2.py: STATS.md and validation_files.txt from the
manifest (and, for the inventory and duplicate tables, the build's cache)."""
from __future__ import annotations

import collections
import json
import logging
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from restore_train.manifest import manifest_lines  # noqa: E402
from restore_train.sources import ALLOWLIST, KINDS  # noqa: E402

CACHE = HERE / "cache" / "v2"
log = logging.getLogger("prepare_v2")

BW_BINS = [(0, 4000, "< 4 kHz"), (4000, 6000, "4–6 kHz"), (6000, 7500, "6–7.5 kHz"), (7500, 11000, "7.5–11 kHz"),
           (11000, 15000, "11–15 kHz"), (15000, 19000, "15–19 kHz"), (19000, 1e9, "≥ 19 kHz")]
TARGETS = [("total", 30.0, ">="), ("music", 15.0, ">="), ("midi", 8.0, "<="), ("speech", 4.5, ">="), ("effect", 3.0, ">=")]


NOTES = """
## Archives, formats and what was skipped

- 0ad-data: the audio inside `mods/public/public.zip`; trigger-rally-data: inside `data.zip` (its co-driver
  pace notes are English speech).
- openclonk-data: `Music.ocg` is unpacked by Debian; `Sound.ocg` is a packed C4Group (gzip with a changed magic,
  scrambled header), parsed here: 397 sounds. The other groups (`Objects.ocd`, `Decoration.ocd`, the
  scenario folders `*.ocf`) parse too but hold only 20 small sounds (< 1 MB together): not included.
- gcompris-qt-data: the Qt resource bundles (`rcc/*.rcc`) are parsed. They hold activity sounds, instrument
  phrases and world-music excerpts, but NO spoken words or letters: GCompris's voices are a separate download
  that Debian does not package, so this package adds no speech.
- freedoom: the WADs' DMX sound lumps (8-bit PCM, mostly 11 025 Hz) are effects; its music lumps that are
  MIDI are rendered like the other MIDI (one soundfont per track, chosen by hash; MUS-format lumps are skipped).
- Tracker modules (pingus-data, tuxtype-data, ri-li-data, redeclipse-data) are rendered with `openmpt123`
  at 44.1 kHz and counted as music (label `tracker module`).
- asterisk-core-sounds-{es,fr,it,ru}-g722: raw G.722 at 16 kHz decoded with ffmpeg; speech material, not
  bandwidth-extension targets (G.722 carries ~7 kHz). The English asterisk sets are not on the allowlist.
- Opus (warzone2100-music) and other formats libsndfile does not read are decoded with ffmpeg.
- MIDI: openttd-openmsx (each file once per soundfont: FluidR3, MuseScore General, TimGM6mb, instruments
  redrawn per take as in v1), freedoom MIDI lumps, music21 corpus scores (v1 logic, one soundfont by hash),
  capped at 7.5 h in that order; renders at 22 050 Hz.
"""


def clip_files(e: dict) -> list[str]:
    return [it["file"] for it in e.get("items", [])] or [e["file"]]


def stage_stats() -> None:
    lines = manifest_lines(HERE)
    pk = json.loads((CACHE / "packages.json").read_text()) if (CACHE / "packages.json").exists() else {}
    dup = json.loads((CACHE / "duplicates.json").read_text()) if (CACHE / "duplicates.json").exists() else {"duplicates": [], "dropped": {}}
    timing = json.loads((CACHE / "timing.json").read_text()) if (CACHE / "timing.json").exists() else {}
    inventory = [json.loads(l) for l in (CACHE / "inventory.jsonl").read_text().splitlines()] if (CACHE / "inventory.jsonl").exists() else []

    h = lambda e: e["duration"] / 3600  # noqa: E731
    total = sum(h(e) for e in lines)
    frames_total = 10.0 * len(lines)
    pad = sum(10.0 - e["duration"] for e in lines) / max(frames_total, 1e-9)
    by_kind = collections.defaultdict(lambda: [0.0, 0.0, 0])
    by_pkg = collections.defaultdict(lambda: collections.defaultdict(float))
    pkg_val = collections.defaultdict(float)
    pkg_clips = collections.Counter()
    by_lang = collections.defaultdict(float)
    types = collections.Counter()
    bw_hist = collections.defaultdict(collections.Counter)
    full = collections.Counter()
    rates = collections.Counter()
    val_files, all_files = set(), set()
    desc = collections.Counter()
    for e in lines:
        k = by_kind[e["kind"]]
        k[0] += h(e)
        k[2] += 1
        if e["split"] == "validation":
            k[1] += h(e)
            pkg_val[e["source"]] += h(e)
        by_pkg[e["source"]][e["kind"]] += h(e)
        pkg_clips[e["source"]] += 1
        if e["kind"] == "speech":
            by_lang[e.get("language", "?")] += h(e)
        types[e.get("clip_type", "window")] += 1
        for lo, hi, name in BW_BINS:
            if lo <= e["bandwidth_hz"] < hi:
                bw_hist[e["kind"]][name] += 1
        full[e["kind"]] += bool(e["full_band"])
        rates[e["source_rate"]] += 1
        for d in e.get("descriptors", []):
            desc[d] += 1
        for f in clip_files(e):
            all_files.add((e["source"], f))
            if e["split"] == "validation":
                val_files.add((e["source"], f))
    val_h = sum(v[1] for v in by_kind.values())
    ok = lambda v, t, op: (v >= t) if op == ">=" else (v <= t)  # noqa: E731
    actual = {"total": total, **{k: by_kind[k][0] for k in KINDS}}
    n_lang = len([l for l, v in by_lang.items() if v > 0.05])

    md = ["# Training data statistics (corpus v2)", "",
          "Generated by `training/data/prepare_v2.py --stage stats` (`make data`) from `manifest.jsonl.gz`. Hours are",
          "real audio: a clip's `duration`; the silence that pads a clip to 10 s is not counted. Every source is a",
          "package of the allowlist in `training/restore_train/sources.py` (issue 15).", "",
          f"- clips: {len(lines)} (10 s, 848 frames of normalised mel each): {types.get('window', 0)} windows of long files, "
          f"{types.get('reel', 0)} reels of short sounds",
          f"- audio: **{total:.2f} h**, of which validation {val_h:.2f} h",
          f"- padding: **{100 * pad:.1f}%** of all frames (no clip over 20%)",
          f"- source files with clips: {len(all_files)}, of which validation {len(val_files)}",
          f"- clips with `full_band` (bandwidth ≥ 7.5 kHz from a file of ≥ 22 050 Hz: usable BWE targets): **{100 * sum(full.values()) / max(1, len(lines)):.1f}%**; "
          f"bandwidth ≥ 7.5 kHz whatever the rate: {100 * sum(e['bandwidth_hz'] >= 7500 for e in lines) / max(1, len(lines)):.1f}%",
          f"- duplicates removed: **{len(dup['duplicates'])} files** ({sum(d['seconds'] for d in dup['duplicates']) / 3600:.2f} h; "
          f"{sum(d['by'] == 'bytes' for d in dup['duplicates'])} identical bytes, {sum(d['by'] == 'pcm' for d in dup['duplicates'])} identical decoded PCM), kept in allowlist order",
          ]
    if timing:
        md.append("- CPU-bound stage times on this machine (one niced worker, 2 shared cores), summed over every run that "
                  "completed the stage (re-runs of plan/mel after caption fixes included): "
                  + ", ".join(f"{k} {v / 60:.1f} min" for k, v in timing.items()))
    md += ["", "## Targets (issue 15)", "", "| target | required | actual | met |", "|---|---|---|---|"]
    for name, t, op in TARGETS:
        md.append(f"| {name} hours | {op} {t:g} h | {actual.get(name, 0):.2f} h | {'yes' if ok(actual.get(name, 0), t, op) else 'NO'} |")
    md.append(f"| speech languages (> 3 min each) | >= 6 | {n_lang} | {'yes' if n_lang >= 6 else 'NO'} |")
    dup_kind = collections.Counter()
    for d in dup["duplicates"]:
        dup_kind[d.get("kind", "?")] += d["seconds"] / 3600
    short = [k for k in ("music", "speech", "effect") if not ok(actual[k], dict((n, t) for n, t, _ in TARGETS)[k], ">=")]
    md.append(f"| padding share of frames | <= 10% | {100 * pad:.1f}% | {'yes' if pad <= 0.10 else 'NO'} |")
    md.append(f"| validation hours | >= 1 h, every kind | {val_h:.2f} h, kinds {sum(1 for k in KINDS if by_kind[k][1] > 0)}/4 | "
              f"{'yes' if val_h >= 1 and all(by_kind[k][1] > 0 for k in KINDS) else 'NO'} |")
    for k in short:
        md += ["", f"**{k}: the allowlist runs out.** {actual[k]:.2f} h is every {k} file of every allowlisted package "
               f"(see the inventory table below) after removing duplicates ({dup_kind.get(k, 0):.2f} h of {k} were "
               "the same audio in two places, e.g. megaglest's per-faction copies and the two freedoom WADs) and "
               "trimming leading/trailing silence. No other package was substituted."]
    md += ["", "## By kind", "", "| kind | hours | train h | validation h | clips | full_band |", "|---|---|---|---|---|---|"]
    for k in KINDS:
        v = by_kind[k]
        md.append(f"| {k} | {v[0]:.2f} | {v[0] - v[1]:.2f} | {v[1]:.2f} | {v[2]} | {100 * full[k] / max(1, v[2]):.1f}% |")
    md += ["", "## By package", "", "| package | licence | hours | music | midi | speech | effect | validation h | clips |",
           "|---|---|---|---|---|---|---|---|---|"]
    for p in ALLOWLIST:
        if p not in by_pkg:
            continue
        d = by_pkg[p]
        lic = (pk.get(p, {}).get("licence") or "?").replace("|", "/")
        md.append(f"| {p} | {lic} | {sum(d.values()):.2f} | " + " | ".join(f"{d.get(k, 0):.2f}" for k in KINDS)
                  + f" | {pkg_val[p]:.2f} | {pkg_clips[p]} |")
    md += ["", "Licences are the short names of each package's `/usr/share/doc/<package>/copyright` (each clip records",
           "its `licence` and `licence_file`). MIDI renders also carry the soundfont's licence: "
           + "; ".join(f"{s}: {pk.get(s, {}).get('licence', '?')}" for s in ("fluid-soundfont-gm", "musescore-general-soundfont", "timgm6mb-soundfont")) + "."]
    md += ["", "## Speech by language", "", "| language | hours |", "|---|---|"]
    for lang, v in sorted(by_lang.items(), key=lambda kv: -kv[1]):
        md.append(f"| {lang} | {v:.2f} |")
    md += ["", "## Bandwidth by kind (clips)", "",
           "`bandwidth_hz` is measured on the long-term power spectrum at the file's original rate",
           "(`restore_train/bandwidth.py`: a steep edge followed by a floor to Nyquist; natural roll-off is full band,",
           "reported as the original Nyquist). Windows of long files use their own 10 s; a reel takes its items' minimum.", "",
           "| kind | " + " | ".join(n for _, _, n in BW_BINS) + " | full_band |", "|---|" + "---|" * (len(BW_BINS) + 1)]
    for k in KINDS:
        md.append(f"| {k} | " + " | ".join(str(bw_hist[k][n]) for _, _, n in BW_BINS) + f" | {100 * full[k] / max(1, by_kind[k][2]):.1f}% |")
    md += ["", "Original sample rates (clips): " + ", ".join(f"{r} Hz: {n}" for r, n in sorted(rates.items())) + ".",
           "The asterisk prompts are 16 kHz G.722 (speech material, not BWE targets); MIDI renders are made at 22 050 Hz."]
    md += ["", "## Inventory of the allowlist (files found, by kind)", "",
           "What each package holds, before decoding, deduplication and the clip rules; where a kind runs short,",
           "this is all the allowlist has of it.", "", "| package | installed | music | speech | effect |", "|---|---|---|---|---|"]
    inv = collections.defaultdict(collections.Counter)
    for e in inventory:
        inv[e["source"]][e["kind"]] += 1
    for p in ALLOWLIST:
        st = pk.get(p, {})
        inst = "yes" if st.get("installed") else ("n/a (PyPI)" if p == "music21" else "MISSING")
        c = inv.get(p, {})
        md.append(f"| {p} | {inst} | {c.get('music', 0)} | {c.get('speech', 0)} | {c.get('effect', 0)} |")
    missing = [p for p in ALLOWLIST if p != "music21" and pk and not pk.get(p, {}).get("installed")]
    md += ["", "Missing packages: " + (", ".join(missing) if missing else "none: every allowlisted package exists in this Debian release and was installed") + "."]
    md += ["", NOTES.strip()]
    dropped = dup.get("dropped", {})
    if dropped:
        md += ["", "## Dropped by the clip rules", ""] + [f"- {k}: {v:.1f}" if isinstance(v, float) else f"- {k}: {v}" for k, v in dropped.items()]
    md += ["", "## Captions: measured descriptors", "",
           "Appended after ';' from the clip's own audio: loud ≥ -18 dBFS RMS, quiet ≤ -35; bright/dark: magnitude spectral",
           "centroid ≥ 2.2 kHz / ≤ 900 Hz for speech, ≥ 3.5 kHz / ≤ 700 Hz for effects, ≥ 2.3 kHz / ≤ 900 Hz for music and MIDI;",
           "sparse: ≤ 50% of frames within 30 dB of the loudest, dense ≥ 90% (speech and effects).", "",
           ", ".join(f"{d}: {n}" for d, n in desc.most_common())]
    (HERE / "STATS.md").write_text("\n".join(md) + "\n")
    (HERE / "validation_files.txt").write_text("".join(f"{s}\t{f}\n" for s, f in sorted(val_files)))
    log.info("stats: %.2f h in %d clips, padding %.1f%%, %d validation files", total, len(lines), 100 * pad, len(val_files))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    stage_stats()
