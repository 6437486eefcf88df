#!/usr/bin/env python3
"""The token oracle of issue 16: how far do a tokenizer's TRUE tokens limit bandwidth
extension, before any transformer is involved? On validation clips of the v2 corpus
(balanced by kind, one clip per source file, a 5 s excerpt of real audio from each):

* input       the clean excerpt x low-passed at 4 kHz (zero-phase Kaiser FIR, 1025 taps,
              beta 8.6 — restore_train.sbr.kaiser_lowpass, forward and backward)
* true mel    vocoder(log-mel of x), then LFR            — the vocoder's own ceiling
* token       the mel rows BWE regenerates at 4 kHz (rows whose band reaches above the cutoff,
  oracle     3 and 4, as Sources/Tasks/BandwidthExtension.swift masks them) are replaced by
              the tokenizer's decoding of x's own tokens, bins below the cutoff keep the true
              mel through the runtime's 3-bin ramp; vocoder; LFR
* clipped     as the token oracle with a perfect tokenizer of today's normalisation: the
  true mel    true mel clipped to [-80, 20] dB in the generated bins (the floor every -80 dB
              tokenizer puts under quiet high bands)
* SBR         restore_train.sbr.spectral_band_replication(input, 4 kHz)
* round trip  vocoder(decoded tokens, every row) against vocoder(true mel), no LFR

LFR (low-frequency replacement) puts the input's own band below 4 kHz back:
y = lowpass(input) + vocoder − lowpass(vocoder) with the same zero-phase Kaiser filter. (The
Swift runtime splices with an STFT-domain 300 Hz raised-cosine crossover,
Sources/RestoreCore/Restoration/BandSplice.swift; the FIR split is the Python stand-in.)
LSD: restore_train.metrics.lsd (STFT 2048/512) against x at 22 050 Hz, full band and above
4 kHz. The vocoder is the PyTorch HiFi-GAN V1 universal with the converted weights the
Swift runtime loads (Models/pretrained/hifigan-universal.safetensors).

    .venv/bin/python bench/token_oracle.py --clips 48 \\
        --candidate shipped=Models/default/tokenizer.safetensors \\
        --candidate gs=training/checkpoints/tokenizer-gs.safetensors
Per-clip rows are cached in training/checkpoints/oracle-rows/<label>.json (--force recomputes);
the summary goes to bench/results/tokenizer_oracle.json (tokenizer_oracle_interim.json with
--interim).
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import pathlib
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from validation import clip_audio  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train import mel, sbr  # noqa: E402
from restore_train.manifest import manifest_lines  # noqa: E402
from restore_train.metrics import lsd  # noqa: E402
from restore_train.safetensors_io import load_safetensors  # noqa: E402

DATA = ROOT / "training" / "data"
CACHE_V2 = DATA / "cache" / "v2"
OUT = ROOT / "bench" / "results"
SR = mel.SAMPLE_RATE
CUTOFF = 4000.0
EXCERPT = 432 * mel.HOP            # 5.02 s, 432 mel frames = 27 token columns


# ------------------------------------------------------------------ clips and audio

def manifest() -> list[dict]:
    return manifest_lines(DATA)


def item_key(source: str, name: str) -> str:
    return hashlib.sha1(f"{source}:{name}".encode()).hexdigest()[:20]


class ClipAudio:
    """A manifest clip's 22 050 Hz audio rebuilt from the v2 decode cache exactly as
    training/data/prepare_v2.py (stage mel) assembled it: windows of one file, or reels of
    short sounds with 5 ms fades."""

    def __init__(self):
        self.windows, self.reels = {}, {}
        for line in (CACHE_V2 / "plan.jsonl").read_text().splitlines():
            c = json.loads(line)
            if c["type"] == "window":
                self.windows[(c["key"], round(c["offset"], 4))] = c
            else:
                self.reels[c["reel_id"]] = c

    _cache: dict = {}

    @staticmethod
    def pcm(key: str) -> np.ndarray:
        c = ClipAudio._cache
        if key not in c:
            if len(c) > 32:
                c.clear()
            c[key] = np.load(CACHE_V2 / "pcm" / f"{key}.npy").astype(np.float32)
        return c[key]

    def audio(self, e: dict) -> np.ndarray:
        if e.get("clip_type", "window") == "window":
            c = self.windows[(item_key(e["source"], e.get("take", e["file"])), round(e["offset"], 4))]
        else:
            c = self.reels[e["id"]]
        x = np.zeros(int(10.0 * SR), dtype=np.float32)
        y = clip_audio(c, self.pcm)
        x[:len(y)] = y
        return x[:c["samples"]]


def pick(lines: list[dict], n: int, seed: int = 0) -> list[dict]:
    """n validation clips with at least 6 s of audio, cycling over the kinds, at most one per
    source file while the kind has unused files."""
    rng = np.random.default_rng(seed)
    by_kind = collections.defaultdict(list)
    for e in lines:
        if e["split"] == "validation" and e["duration"] >= 6.0:
            by_kind[e["kind"]].append(e)
    kinds = sorted(by_kind)
    order = {k: [by_kind[k][i] for i in rng.permutation(len(by_kind[k]))] for k in kinds}
    used_files, out, cursor = set(), [], collections.Counter()
    while len(out) < n and any(cursor[k] < len(order[k]) for k in kinds):
        for k in kinds:
            if len(out) >= n:
                break
            while cursor[k] < len(order[k]):
                e = order[k][cursor[k]]
                cursor[k] += 1
                if (e["source"], e["file"]) not in used_files:
                    used_files.add((e["source"], e["file"]))
                    out.append(e)
                    break
    return out


def excerpt(x: np.ndarray) -> np.ndarray | None:
    """The centred 5 s of the clip's audio; None when it is near-silent (< -50 dBFS RMS)."""
    if len(x) < EXCERPT:
        return None
    s = (len(x) - EXCERPT) // 2 // mel.HOP * mel.HOP
    y = x[s:s + EXCERPT].astype(np.float64)
    if 20 * np.log10(np.sqrt(np.mean(y ** 2)) + 1e-12) < -50:
        return None
    return y


# ------------------------------------------------------------------ models and signals

def load_vocoder():
    from export_hifigan import load_generator
    gen, _ = load_generator()
    path = ROOT / "Models" / "pretrained" / "hifigan-universal.safetensors"
    if path.exists():
        tensors, _ = load_safetensors(path)
        gen.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
    return gen.eval()


@torch.no_grad()
def vocode(gen, log_mel: np.ndarray) -> np.ndarray:
    return gen(torch.from_numpy(log_mel.astype(np.float32))[None]).squeeze().numpy().astype(np.float64)


def lowpass(x: np.ndarray) -> np.ndarray:
    return sbr.zero_phase(np.asarray(x, np.float64), sbr.kaiser_lowpass(CUTOFF, SR))


def lfr(inp_low: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The input's band below the cutoff put back under y's band above it."""
    n = min(len(inp_low), len(y))
    return inp_low[:n] + y[:n] - lowpass(y[:n])


def bwe_weights(cutoff: float = CUTOFF, rows: int = 5, bins_per_row: int = 16) -> np.ndarray:
    """Per mel bin, the weight of the generated value (BandwidthExtension.mask in Swift):
    rows whose top bin's upper edge is above the cutoff are generated; inside them bins
    ramp over 3 bins around the cutoff bin's centre."""
    lo, hi = mel.hz_to_mel(mel.F_MIN), mel.hz_to_mel(mel.F_MAX)
    points = mel.N_MELS + 1
    centre = (float(mel.hz_to_mel(cutoff)) - lo) / (hi - lo) * points - 1
    w = np.zeros(mel.N_MELS)
    for r in range(rows):
        top = r * bins_per_row + bins_per_row - 1
        if float(mel.mel_to_hz(lo + (hi - lo) * (top + 2) / points)) > cutoff:
            b = np.arange(r * bins_per_row, (r + 1) * bins_per_row)
            w[b] = np.clip((b - (centre - 1.5)) / 3, 0, 1)
    return w


def tokenizer_input(x: np.ndarray, db_min: float) -> np.ndarray:
    """The tokenizer's normalised mel with its own dB floor (restore_train.mel at -80 dB)."""
    from tokenizer_study import normalize
    return normalize(mel.magnitude_mel(x), db_min)


def load_tokenizer(path: str):
    from train_tokenizer import load_any
    return load_any(pathlib.Path(path))


def summarise(rows: list[dict], keys: list[str]) -> dict:
    out = {"all": {k: float(np.mean([r[k] for r in rows])) for k in keys}}
    for kind in sorted({r["kind"] for r in rows}):
        out[kind] = {k: float(np.mean([r[k] for r in rows if r["kind"] == kind])) for k in keys}
        out[kind]["clips"] = sum(r["kind"] == kind for r in rows)
    out["all"]["clips"] = len(rows)
    return out


BASE_KEYS = ["lsd_input", "lsd_input_hf", "lsd_sbr", "lsd_sbr_hf", "lsd_truemel_bwe", "lsd_truemel_bwe_hf", "lsd_vocoder",
             "lsd_clipmel_bwe", "lsd_clipmel_bwe_hf"]
CAND_KEYS = ["lsd_token_bwe", "lsd_token_bwe_hf", "lsd_roundtrip", "mel_l1", "mel_l1_rows34"]


def markdown(results: dict) -> str:
    """The oracle table (per kind and overall, LSD full band / above the cutoff) for the model
    card: each candidate's token oracle beside the true-mel oracle, SBR and the input."""
    base, cands = results["baselines"], results["candidates"]
    kinds = [k for k in base if k != "all"] + ["all"]
    head = ["kind", "clips", "true mel", *(f"token oracle: {c}" for c in cands), "SBR", "low-pass input"]
    out = [f"# Token oracle: bandwidth extension from {results['cutoff_hz'] / 1000:g} kHz with a tokenizer's true tokens",
           "",
           f"{results['clips']} validation clips ({results['clip_source']}), {results['excerpt_seconds']:.2f} s excerpts; "
           "LSD over the full band / above the cutoff (bench/token_oracle.py).",
           "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in kinds:
        b = base[k]
        cells = [k, str(b["clips"]), f"{b['lsd_truemel_bwe']:.3f} / {b['lsd_truemel_bwe_hf']:.3f}"]
        cells += [f"{c['summary'][k]['lsd_token_bwe']:.3f} / {c['summary'][k]['lsd_token_bwe_hf']:.3f}" for c in cands.values()]
        cells += [f"{b['lsd_sbr']:.3f} / {b['lsd_sbr_hf']:.3f}", f"{b['lsd_input']:.3f} / {b['lsd_input_hf']:.3f}"]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "| tokenizer | steps | token oracle − true mel | round trip LSD | vocoder-only LSD | ratio | codes used | perplexity |",
            "|---|---|---|---|---|---|---|---|"]
    for label, c in cands.items():
        codes = c["codes"][0]
        out.append(f"| {label} (`{c['path']}`) | {c['steps'] if c['steps'] is not None else '–'} | {c['token_minus_truemel']:+.3f} | "
                   f"{c['summary']['all']['lsd_roundtrip']:.3f} | {base['all']['lsd_vocoder']:.3f} | {c['roundtrip_ratio']:.2f}× | "
                   f"{codes['used_percent']:.1f}% | {codes['perplexity']:.0f} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--candidate", action="append", default=[], help="LABEL=PATH (.safetensors export or .pt checkpoint)")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--interim", default=None, help="clips of the study's interim corpus (training/tokenizer_study.py interim) "
                    "instead of the manifest: the same v2 validation rule, audio from the decode cache")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows_dir = ROOT / "training" / "checkpoints" / ("oracle-rows-interim" if args.interim else "oracle-rows")
    rows_dir.mkdir(parents=True, exist_ok=True)
    data = pathlib.Path(args.interim) if args.interim else DATA
    if args.interim:
        lines = [json.loads(l) for l in (data / "clips.jsonl").read_text().splitlines()]
        for e in lines:
            e["id"], e["caption"] = f"{e['key']}:{e['start']}", e["file"]
        chosen = pick(lines, args.clips * 2)

        class _Audio:
            @staticmethod
            def audio(e):
                return ClipAudio.pcm(e["key"])[e["start"]:e["start"] + e["samples"]]
        ca = _Audio()
    else:
        chosen = pick(manifest(), args.clips * 2)
        ca = ClipAudio()
    fb = mel.mel_filterbank().astype(np.float32)
    w = bwe_weights()
    clips = []
    for e in chosen:
        x = ca.audio(e)
        # the rebuilt audio must give the shard's mel (float16 storage)
        shard = np.load(data / "shards" / f"shard-{e['shard']:05d}.npy", mmap_mode="r")[e["index"]].astype(np.float32)
        xx = np.zeros(int(10 * SR), np.float32)
        xx[:len(x)] = x
        m = mel.normalize_db(fb @ mel.magnitude_spectrogram(xx, np.float32).T)[:, :848]
        err = float(np.abs(m - shard).max())
        if err > 0.01:
            print(f"skip {e['id']}: rebuilt audio does not match its shard (max |Δ| {err:.3f})", flush=True)
            continue
        y = excerpt(x)
        if y is None:
            continue
        clips.append((e, y))
    per_kind = collections.Counter(e["kind"] for e, _ in clips)
    quota = -(-args.clips // max(1, len(per_kind)))
    taken, sel = collections.Counter(), []
    for e, y in clips:
        if taken[e["kind"]] < quota:
            taken[e["kind"]] += 1
            sel.append((e, y))
    print(f"{len(sel)} clips: {dict(taken)}", flush=True)
    ids = [e["id"] for e, _ in sel]
    gen = load_vocoder()
    t0 = time.time()

    base_p = rows_dir / "_baselines.json"
    base = json.loads(base_p.read_text()) if base_p.exists() and not args.force else {}
    voc_cache = {}
    for k, (e, x) in enumerate(sel):
        low = lowpass(x)
        if e["id"] not in base:
            true_ln = mel.log_mel(x)
            v = vocode(gen, true_ln)
            # a perfect tokenizer of today's normalisation: true mel clipped to [-80, 20] dB
            clip_ln = mel.denormalize_to_log_mel(mel.normalized_mel(x))
            cm = lfr(low, vocode(gen, w[:, None] * clip_ln + (1 - w[:, None]) * true_ln))
            s = sbr.spectral_band_replication(low, SR, CUTOFF)
            t = lfr(low, v)
            base[e["id"]] = {"kind": e["kind"], "caption": e["caption"], "source": e["source"], "file": e["file"],
                             "lsd_input": lsd(x, low), "lsd_input_hf": lsd(x, low, cutoff=CUTOFF, band="hf"),
                             "lsd_sbr": lsd(x, s), "lsd_sbr_hf": lsd(x, s, cutoff=CUTOFF, band="hf"),
                             "lsd_truemel_bwe": lsd(x, t), "lsd_truemel_bwe_hf": lsd(x, t, cutoff=CUTOFF, band="hf"),
                             "lsd_vocoder": lsd(x, v), "lsd_clipmel_bwe": lsd(x, cm),
                             "lsd_clipmel_bwe_hf": lsd(x, cm, cutoff=CUTOFF, band="hf")}
            base_p.write_text(json.dumps(base, indent=1))
            print(f"base {k + 1}/{len(sel)} {e['kind']:7s} true-mel {base[e['id']]['lsd_truemel_bwe']:.3f} "
                  f"SBR {base[e['id']]['lsd_sbr']:.3f} input {base[e['id']]['lsd_input']:.3f}  {time.time() - t0:.0f} s", flush=True)

    results = {"clips": len(sel), "clip_ids": ids, "clip_source": "interim" if args.interim else "manifest", "cutoff_hz": CUTOFF, "excerpt_seconds": EXCERPT / SR,
               "generated_mel_bins": int((w > 0).sum()), "baselines": summarise([base[i] for i in ids], BASE_KEYS),
               "candidates": {}}
    for spec in args.candidate:
        label, path = spec.split("=", 1)
        rows_p = rows_dir / f"{label}.json"
        st = pathlib.Path(path).stat()
        stamp = f"{pathlib.Path(path).resolve()}:{st.st_size}:{int(st.st_mtime)}"
        cached = json.loads(rows_p.read_text()) if rows_p.exists() and not args.force else {}
        if cached.get("stamp") != stamp:
            cached = {"stamp": stamp, "rows": {}}
        tok = load_tokenizer(path)
        counts = [collections.Counter() for _ in tok.cfg.level_sizes]
        for k, (e, x) in enumerate(sel):
            n = torch.from_numpy(tokenizer_input(x, tok.cfg.db_min).astype(np.float32))[None, None]
            levels = tok.encode_levels(n)
            for c, lv in zip(counts, levels):
                c.update(lv.flatten().tolist())
            if e["id"] in cached["rows"]:
                continue
            dec = tok.decode_levels(levels)[0, 0].numpy().astype(np.float64)
            true_ln = mel.log_mel(x)
            from tokenizer_study import denormalize_to_log_mel
            dec_ln = denormalize_to_log_mel(dec, tok.cfg.db_min)
            bwe_ln = w[:, None] * dec_ln + (1 - w[:, None]) * true_ln
            low = lowpass(x)
            tb = lfr(low, vocode(gen, bwe_ln))
            rt = vocode(gen, dec_ln)
            d = np.clip(dec, -1, 1) - n[0, 0].numpy()
            cached["rows"][e["id"]] = {"kind": e["kind"], "lsd_token_bwe": lsd(x, tb), "lsd_token_bwe_hf": lsd(x, tb, cutoff=CUTOFF, band="hf"),
                                       "lsd_roundtrip": lsd(x, rt), "mel_l1": float(np.abs(d).mean()),
                                       "mel_l1_rows34": float(np.abs(d[48:]).mean())}
            rows_p.write_text(json.dumps(cached, indent=1))
            r = cached["rows"][e["id"]]
            print(f"{label} {k + 1}/{len(sel)} {e['kind']:7s} token-oracle {r['lsd_token_bwe']:.3f} (true mel "
                  f"{base[e['id']]['lsd_truemel_bwe']:.3f})  round trip {r['lsd_roundtrip']:.3f} (vocoder {base[e['id']]['lsd_vocoder']:.3f})"
                  f"  {time.time() - t0:.0f} s", flush=True)
        rows = [cached["rows"][i] for i in ids]
        summ = summarise(rows, CAND_KEYS)
        usage = []
        for c, size in zip(counts, tok.cfg.level_sizes):
            tot = sum(c.values())
            p = np.array([v / tot for v in c.values()])
            usage.append({"size": size, "used_percent": 100 * len(c) / size, "perplexity": float(np.exp(-(p * np.log(p)).sum()))})
        _, meta = load_safetensors(path) if path.endswith(".safetensors") else (None, {})
        results["candidates"][label] = {"path": path, "config": json.loads(tok.cfg.to_json()), "steps": meta.get("steps"),
                                        "summary": summ, "codes": usage,
                                        "roundtrip_ratio": summ["all"]["lsd_roundtrip"] / results["baselines"]["all"]["lsd_vocoder"],
                                        "token_minus_truemel": summ["all"]["lsd_token_bwe"] - results["baselines"]["all"]["lsd_truemel_bwe"]}
        a = results["candidates"][label]
        print(f"{label}: token-oracle BWE {summ['all']['lsd_token_bwe']:.3f} (true mel {results['baselines']['all']['lsd_truemel_bwe']:.3f}, "
              f"+{a['token_minus_truemel']:.3f}); round trip {summ['all']['lsd_roundtrip']:.3f} = {a['roundtrip_ratio']:.2f}× vocoder", flush=True)
    stem = "tokenizer_oracle_interim" if args.interim else "tokenizer_oracle"
    (OUT / f"{stem}.json").write_text(json.dumps(results, indent=1))
    (OUT / f"{stem}.md").write_text(markdown(results))
    b = results["baselines"]["all"]
    print(f"baselines: true-mel BWE {b['lsd_truemel_bwe']:.3f}, SBR {b['lsd_sbr']:.3f}, input {b['lsd_input']:.3f}, vocoder {b['lsd_vocoder']:.3f}")


if __name__ == "__main__":
    main()
