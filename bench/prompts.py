#!/usr/bin/env python3
"""Text-prompted generation: for each prompt, `restore generate --prompt` (5 s, seed 0), its
loudness, and the top-3 tags of the probes bench/probe.py trained (speech/music/effect and
the 0ad effect category), read from `restore embed` of the generated audio.

    .venv/bin/python bench/prompts.py
Writes bench/results/prompts.json and prints a table.
"""
import json
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from validation import RESTORE, ROOT  # noqa: E402

PROMPTS = ["a dog barking", "rain on a tin roof", "a man speaking", "a woman singing", "piano music",
           "drums and bass", "footsteps on gravel", "a sword hitting a shield", "birds singing", "an explosion"]


def run(args):
    return subprocess.run([RESTORE, *args], check=True, capture_output=True, text=True).stdout


def main():
    tmp = pathlib.Path(tempfile.mkdtemp())
    probes = {t: ROOT / f"bench/results/probes/{t}.safetensors" for t in ("speech_music_effect", "effect_category")}
    rows = []
    for i, prompt in enumerate(PROMPTS):
        wav = tmp / f"p{i}.wav"
        g = json.loads(run(["generate", "--prompt", prompt, "--duration", "5", "--seed", "0", "-o", str(wav), "--json", "--quiet"]))
        gen = g["report"]["generated"][0]
        run(["embed", str(wav), "-o", str(tmp / f"p{i}.safetensors"), "--quiet", "--overwrite"])
        row = {"prompt": prompt, "seconds": g["seconds"], "duration": gen["duration"], "rms_dbfs": gen["rms_dbfs"],
               "peak_dbfs": gen["peak_dbfs"], "text_encoding_seconds": g["report"]["text_encoding_seconds"]}
        emb = tmp / "emb"
        emb.mkdir(exist_ok=True)
        (emb / f"p{i}.safetensors").write_bytes((tmp / f"p{i}.safetensors").read_bytes())
        for task, probe in probes.items():
            if probe.exists():
                top = json.loads(run(["probe", "predict", str(probe), "--embeddings", str(tmp / f"p{i}.safetensors"), "--top", "3", "--json"]))
                row[task] = [(t["tag"], round(t["score"], 3)) for t in top["report"]["tags"]]
        rows.append(row)
        print(json.dumps(row), flush=True)
    (ROOT / "bench/results").mkdir(exist_ok=True)
    (ROOT / "bench/results/prompts.json").write_text(json.dumps(rows, indent=1))
    print("\n| prompt | duration | RMS dBFS | peak dBFS | speech/music/effect (top 3) | 0ad effect category (top 3) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        fmt = lambda k: ", ".join(f"{t} {s:.2f}" for t, s in r.get(k, []))
        print(f"| {r['prompt']} | {r['duration']:.1f} s | {r['rms_dbfs']:.1f} | {r['peak_dbfs']:.1f} | {fmt('speech_music_effect')} | {fmt('effect_category')} |")


if __name__ == "__main__":
    main()
