#!/usr/bin/env python3
"""training/logs/transformer-campaign.md: the table of every transformer export of the
campaign (step, hours, masked-token accuracies from the run's own validation) and, for the
exports `make validate` scored, each gate beside its baseline.

    .venv/bin/python training/campaign_log.py
Reads training/logs/transformer-*.validation.jsonl (one line per export, committed; written by
train_transformer.py) or, for a run that has none, its text log transformer-*.log, and
bench/results/validate-*.json.
"""
import json
import pathlib
import re

from restore_train.history import read_validation

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOGS = ROOT / "training" / "logs"
LINE = re.compile(r"^(\S+ \S+) (final )?step (\d+) \(([\d.]+) min\)\s+validation (\{.*\})$")


def run_rows(log: pathlib.Path):
    """The exports of a run: from its committed JSON lines when they exist, else its text log."""
    jsonl = log.with_name(log.stem + ".validation.jsonl")
    if jsonl.exists():
        return [{"time": r["time"], "step": r["step"], "hours": r["minutes"] / 60, "metrics": r["metrics"]}
                for r in read_validation(jsonl)]
    rows = []
    if not log.exists():
        return rows
    for line in log.read_text().splitlines():
        m = LINE.match(line)
        if m:
            rows.append({"time": m.group(1)[:16], "step": int(m.group(3)), "hours": float(m.group(4)) / 60,
                         "metrics": json.loads(m.group(5))})
    return rows


def gate_summary(v: dict) -> str:
    parts = []
    if "bwe" in v:
        t = v["bwe"]["table"]
        parts.append(f"BWE LSD {t['bwe']['all']['lsd']:.3f} (SBR {t['SBR']['all']['lsd']:.3f}), bias {t['bwe']['all']['bias_db']:+.1f} dB, "
                     f"envelope {t['bwe']['all']['envelope_db']:.1f} dB (SBR {t['SBR']['all']['envelope_db']:.1f})")
    for g in ("0.5s", "1.5s"):
        if g in v.get("gap", {}):
            t = v["gap"][g]["table"]
            parts.append(f"gap {g} LSD {t['fill-gap']['all']['lsd']:.3f} (LPC {t['LPC']['all']['lsd']:.3f})")
    if "prompts" in v:
        parts.append(f"prompts {100 * v['prompts']['adherence']['all']:.0f}%")
    if "probe" in v:
        parts.append("probe " + ", ".join(f"{k} {p['engine']['roc_auc']:.3f} (MFCC {p['mfcc']['roc_auc']:.3f})" for k, p in v["probe"].items()))
    if "tokens" in v:
        parts.append(f"token acc@0.5 {100 * v['tokens'].get('random@0.5', 0):.1f}%")
    return "; ".join(parts)


def run_table(name: str, rows: list[dict]) -> list[str]:
    """A run's markdown table; a run started again from step 0 under the same name (its
    checkpoint lost with a machine) gets a table of its own, so no curve runs backwards."""
    header = ["| time | step | hours | acc@0.5 real | acc@0.9 real | BWE rows 3–4 acc | loss@0.5 | expected-code error@0.5 real |",
              "|---|---|---|---|---|---|---|---|"]
    out = [f"## {name}", ""] + header
    for k, r in enumerate(rows):
        if k and r["step"] < rows[k - 1]["step"]:
            out += ["", f"Restarted from scratch on {r['time'][:10]} (the checkpoint before it was lost with its machine):", ""] + header
        m = r["metrics"]
        out.append(f"| {r['time']} | {r['step']} | {r['hours']:.2f} | {100 * m.get('real_acc@0.5', 0):.2f}% | "
                   f"{100 * m.get('real_acc@0.9', 0):.2f}% | {100 * m.get('bwe4k_acc', 0):.2f}% | {m.get('loss@0.5', 0):.3f} | "
                   + (f"{m['real_code_err@0.5']:.3f} |" if "real_code_err@0.5" in m else "– |"))
    return out + [""]


def main():
    out = ["# Transformer training campaign", "",
           "Every export of every run (training/train_transformer.py, exports every 500 steps), with the run's own",
           "validation (masked-token accuracy on positions inside real audio, 320 validation clips; BWE = rows 3–4",
           "given rows 0–2; expected-code error = squared distance of the mean predicted code to the true code, 1 ≈ the",
           "codebook's spread, logged from step 21,381). Candidates replace Models/default only when `make validate` gates",
           "improve.", ""]
    runs = {p.name.removesuffix(".validation.jsonl") for p in LOGS.glob("transformer-*.validation.jsonl")}
    runs |= {p.stem for p in LOGS.glob("transformer-*.log")}
    for name in sorted(runs):
        log = LOGS / f"{name}.log"
        rows = run_rows(log)
        if not rows:
            continue
        out += run_table(log.stem.removeprefix("transformer-"), rows)
    # The shipped model's rows first, then each run's exports in step order (not name order,
    # where 10000 would come before 1501).
    def order(p):
        v = json.loads(p.read_text())
        steps = int(v.get("transformer", {}).get("steps") or 0)
        return (not v.get("name", "").startswith("shipped"), v.get("name", "").split("-")[0], steps, p.name)
    scored = sorted((ROOT / "bench" / "results").glob("validate-*.json"), key=order)
    if scored:
        out += ["## Validation gates (`make validate`)", "", "| model | steps | minutes | gates |", "|---|---|---|---|"]
        for p in scored:
            v = json.loads(p.read_text())
            t = v.get("transformer", {})
            out.append(f"| {v.get('name')} | {t.get('steps')} | {t.get('training_minutes')} | {gate_summary(v)} |")
        out.append("")
    # Decisions and notes are written by hand under "## Decisions" and kept.
    path = LOGS / "transformer-campaign.md"
    old = path.read_text() if path.exists() else ""
    if "## Decisions" in old:
        out += ["", old[old.index("## Decisions"):].rstrip("\n"), ""]
    path.write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
