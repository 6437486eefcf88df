#!/usr/bin/env python3
"""Study: how the gap gate's fills depend on the decoding rule, at the mel level, with the
PyTorch reference (no vocoder, no level guard): for the gate's own clips and gaps
(bench/validate.py), the token columns that touch the gap are masked and filled by the
reference MaskGIT sampler, and decoded two ways: from the drawn tokens, and "soft", from each
generated position's expected code vector under the distribution it was committed from. Score: mean over gap
frames of the RMS over 80 bins of the dB difference to the true mel (a proxy for the
gate's LSD, to rank rules before the Swift gate measures the winner).

    .venv/bin/python bench/decode_study.py --model Models/default --model DIR [--seconds 0.5] [--seeds 3]
Writes bench/results/decode-study.json and prints one row per rule and kind.
"""
import argparse
import collections
import json
import pathlib
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import validate  # noqa: E402
from validation import ROOT, clips  # noqa: E402
from restore_train.mel import DB_MAX, magnitude_mel, normalize_db  # noqa: E402
from restore_train.safetensors_io import load_safetensors  # noqa: E402
from restore_train.tokenizer import Tokenizer, TokenizerConfig  # noqa: E402
from restore_train.transformer import MaskedTransformer, TransformerConfig, grid_patches, sample  # noqa: E402
from train_tokenizer import load_export  # noqa: E402

SR, ROWS, FRAMES, COLUMNS = validate.SR, 5, 16, 53


def load(model_dir):
    model_dir = pathlib.Path(model_dir)
    tcfg = TokenizerConfig(**json.loads(load_safetensors(model_dir / "tokenizer.safetensors")[1]["config"]))
    tok = Tokenizer(tcfg)
    load_export(tok, model_dir / "tokenizer.safetensors")
    tensors, meta = load_safetensors(model_dir / "transformer.safetensors")
    tr = MaskedTransformer(TransformerConfig(**json.loads(meta["config"])))
    tr.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
    return tok.eval(), tr.eval()


def fill(tr, x, known, patches, iterations, choice_temp, generator):
    """The reference sampler (no condition); also returns each generated position's committed
    distribution, which expected-code decoding reads."""
    dist = torch.zeros(x.shape[0], tr.cfg.codebook_size)

    def keep(positions, probs):
        dist[positions] = probs

    out = sample(tr, x, known, iterations=iterations, temperature=choice_temp, generator=generator, patches=patches, on_commit=keep)
    return out, dist


def to_db(n, db_min):
    return (np.clip(n, -1, 1) + 1) / 2 * (DB_MAX - db_min) + db_min


# Choice temperature scales the Gumbel noise on the confidence that orders re-masking (the
# engine's default 1.5). An earlier version of this study also drew tokens at a token
# temperature of 0.8 and 0.6 and greedily (the campaign log's 2026-12-01 02:25 entry): none came
# close to expected codes, and greedy picks filled effects and speech with silence.
RULES = {
    "default": dict(choice_temp=1.5),
    "choice0.5": dict(choice_temp=0.5),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "bench" / "results" / "decode-study.json")
    ap.add_argument("--rules", default=",".join(RULES), help="comma-separated rule names to run")
    args = ap.parse_args()
    rules = {r: RULES[r] for r in args.rules.split(",")}
    torch.set_num_threads(args.threads)
    chosen = clips(args.clips, full_band_only=True, seed=0)
    rng = np.random.default_rng(int(args.seconds * 1000))
    gaps = [validate.gap_start(c["audio"], args.seconds, rng) for c in chosen]
    n = int(args.seconds * SR)
    results = {}
    for model_dir in args.model:
        tok, tr = load(model_dir)
        db_min = tok.cfg.db_min
        rows = collections.defaultdict(list)
        for c, s in zip(chosen, gaps):
            x = np.zeros(COLUMNS * FRAMES * 256, dtype=np.float32)
            x[:min(len(x), len(c["audio"]))] = c["audio"][:len(x)]
            holed = x.copy()
            holed[s:s + n] = 0
            true = normalize_db(magnitude_mel(x), db_min).astype(np.float32)[:, :COLUMNS * FRAMES]
            given = normalize_db(magnitude_mel(holed), db_min).astype(np.float32)[:, :COLUMNS * FRAMES]
            f0, f1 = s // 256, (s + n) // 256 + 1                      # gap frames
            c0, c1 = f0 // FRAMES, min(COLUMNS, f1 // FRAMES + 1)       # token columns touching them
            with torch.no_grad():
                codes = tok.encode(torch.from_numpy(given)[None, None])[0]          # (5, 53)
                seq = codes.T.reshape(-1)                                         # column-major
                known = torch.ones_like(seq, dtype=torch.bool)
                known[c0 * ROWS:c1 * ROWS] = False
                patches = grid_patches(torch.from_numpy(given)[None])[0] if tr.cfg.patch_conditioning else None
                for rule, kw in rules.items():
                    scores, soft_scores = [], []
                    for seed in range(args.seeds):
                        g = torch.Generator().manual_seed(seed)
                        out, dist = fill(tr, seq, known, patches, args.iterations, generator=g, **kw)
                        grid = out.reshape(COLUMNS, ROWS).T[None]
                        mel = tok.decode(grid)[0, 0].numpy()
                        book = tok.quantizer.codebook                               # (K, D)
                        q = book[grid[0]].permute(2, 0, 1).clone()                  # (D, 5, 53)
                        gen = ~known
                        soft = (dist[gen] @ book)                                  # (G, D)
                        idx = torch.nonzero(gen).squeeze(1)
                        q[:, idx % ROWS, idx // ROWS] = soft.T
                        soft_mel = tok.decoder(q[None])[0, 0].numpy()
                        for m, bucket in ((mel, scores), (soft_mel, soft_scores)):
                            filled = given.copy()
                            filled[:, f0:f1] = m[:, f0:f1]
                            d = to_db(filled[:, f0:f1], db_min) - to_db(true[:, f0:f1], db_min)
                            bucket.append(float(np.mean(np.sqrt(np.mean(d ** 2, axis=0)))))
                    rows[rule].append({"kind": c["kind"], "id": c["id"], "tokens": float(np.mean(scores)), "soft": float(np.mean(soft_scores))})
            print(f"{model_dir} {c['kind']:7s} {c['id'][-40:]:40s} " + " ".join(f"{r[-1]['tokens']:5.1f}/{r[-1]['soft']:5.1f}" for r in rows.values()), flush=True)
        table = {}
        for rule, rs in rows.items():
            for kind in sorted({r["kind"] for r in rs}) + ["all"]:
                sel = [r for r in rs if kind == "all" or r["kind"] == kind]
                table.setdefault(rule, {})[kind] = {"tokens": float(np.mean([r["tokens"] for r in sel])),
                                                    "soft": float(np.mean([r["soft"] for r in sel]))}
        results[str(model_dir)] = {"table": table, "per_clip": rows}
        for rule, t in table.items():
            print(f"{model_dir} {rule:28s} " + " ".join(f"{k} {v['tokens']:.2f}/{v['soft']:.2f}" for k, v in t.items()), flush=True)
    args.out.write_text(json.dumps({"seconds": args.seconds, "seeds": args.seeds, "score": "mean over gap frames of the RMS dB error over 80 mel bins",
                               "models": results}, indent=1))


if __name__ == "__main__":
    main()
