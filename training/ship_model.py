#!/usr/bin/env python3
"""Replaces Models/default with a candidate model folder that passed `make validate`:
copies its tokenizer and transformer exports (f16), rewrites model.json (sha256, mel config
with the tokenizer's floor), regenerates the shipped tokenizer's parity fixtures and the model
card from the candidate's validation gates.

    .venv/bin/python training/ship_model.py training/checkpoints/model-v2-hybrid-8x384 \\
        --validate bench/results/validate-v2-hybrid-8x384.json

Only do this when the gates improve on the shipped model's (bench/results/validate-*.json):
every copy of the weights stays in git history.
"""
import argparse
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from train_transformer import write_manifest  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("candidate", type=pathlib.Path)
    ap.add_argument("--validate", required=True, help="the candidate's bench/results/validate-NAME.json")
    args = ap.parse_args()
    dest = ROOT / "Models" / "default"
    for name in ("tokenizer.safetensors", "transformer.safetensors"):
        shutil.copyfile(args.candidate / name, dest / name)
    write_manifest(dest)
    py = sys.executable
    subprocess.run([py, "training/make_tokenizer_fixtures.py"], cwd=ROOT, check=True)
    subprocess.run([py, "training/model_card.py", "--model", "Models/default", "--validate", args.validate], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    print(f"shipped {args.candidate} as {dest}; commit Models/default, the tokenizer fixtures and the model card")


if __name__ == "__main__":
    main()
