"""A training run's validation history as committed JSON lines (training/logs/<run>.validation.jsonl).

Text logs and checkpoints stay on the machine that trained; these lines are what git keeps of
a run, one per validation, so a fresh machine still has the run's whole curve.
"""
from __future__ import annotations

import json
import pathlib
import time


def append_validation(path: pathlib.Path, step: int, minutes: float, metrics: dict, final: bool = False) -> None:
    line = {"time": time.strftime("%Y-%m-%d %H:%M"), "step": step, "minutes": round(minutes, 2), "final": final, "metrics": metrics}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")


def read_validation(path: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
