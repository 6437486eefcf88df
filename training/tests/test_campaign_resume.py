"""A campaign run survives a fresh machine: it continues from its committed export, and its
history is kept in committed JSON lines (train_transformer.py, campaign_log.py)."""
import copy
import json
import pathlib
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from restore_train.transformer import MaskedTransformer, TransformerConfig  # noqa: E402


def _small(seed: int) -> MaskedTransformer:
    torch.manual_seed(seed)
    return MaskedTransformer(TransformerConfig(codebook_size=32, width=32, depth=1, heads=2, ffn=64, cond_dim=384))


def _export(model, folder: pathlib.Path, tokenizer_sha: str, steps=1234, minutes=56.7):
    from restore_train.safetensors_io import save_safetensors
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).numpy() for k, v in model.state_dict().items()}
    save_safetensors(folder / "transformer.safetensors", tensors,
                     {"format": "restore.transformer", "config": model.cfg.to_json(), "steps": str(steps),
                      "training_minutes": f"{minutes:.1f}", "recipe": json.dumps({"tokenizer_sha256": tokenizer_sha})})


def test_resume_from_export_loads_weights_step_and_minutes(tmp_path):
    from train_transformer import resume_from_export
    trained = _small(1)
    _export(trained, tmp_path / "model-run", "abc")
    fresh = _small(2)
    ema = copy.deepcopy(fresh)
    step, minutes = resume_from_export(tmp_path / "model-run", fresh, ema, fresh.cfg, {"tokenizer_sha256": "abc"})
    assert (step, minutes) == (1234, 56.7)
    for name, want in trained.state_dict().items():
        want = want.to(torch.float16).float()
        assert torch.equal(fresh.state_dict()[name], want), name
        assert torch.equal(ema.state_dict()[name], want), name


def test_resume_from_export_refuses_another_shape_or_tokenizer(tmp_path):
    from train_transformer import resume_from_export
    _export(_small(1), tmp_path / "model-run", "abc")
    other = MaskedTransformer(TransformerConfig(codebook_size=32, width=64, depth=1, heads=2, ffn=128, cond_dim=384))
    with pytest.raises(SystemExit, match="is not this run's"):
        resume_from_export(tmp_path / "model-run", other, other, other.cfg, {"tokenizer_sha256": "abc"})
    same = _small(3)
    with pytest.raises(SystemExit, match="trained on tokenizer abc"):
        resume_from_export(tmp_path / "model-run", same, same, same.cfg, {"tokenizer_sha256": "def"})


def test_campaign_history_comes_from_committed_lines(tmp_path):
    from campaign_log import run_rows
    from restore_train.history import append_validation
    log = tmp_path / "transformer-run.log"               # the text log is gone: a fresh machine
    lines = log.with_name("transformer-run.validation.jsonl")
    append_validation(lines, 500, 30.0, {"real_acc@0.5": 0.1}, False)
    append_validation(lines, 1000, 90.0, {"real_acc@0.5": 0.2}, True)
    rows = run_rows(log)
    assert [(r["step"], r["hours"], r["metrics"]["real_acc@0.5"]) for r in rows] == [(500, 0.5, 0.1), (1000, 1.5, 0.2)]


def test_a_run_restarted_from_scratch_gets_its_own_table():
    from campaign_log import run_table
    rows = [{"time": f"2026-12-0{d} 10:00", "step": s, "hours": h, "metrics": {"real_acc@0.5": 0.02}}
            for d, s, h in ((1, 500, 0.8), (1, 1000, 1.4), (2, 500, 0.7))]
    table = run_table("run", rows)
    assert table[0] == "## run"
    restart = table.index("Restarted from scratch on 2026-12-02 (the checkpoint before it was lost with its machine):")
    assert [l.split(" | ")[1] for l in table[:restart] if l.startswith("| 2026")] == ["500", "1000"]
    assert [l.split(" | ")[1] for l in table[restart:] if l.startswith("| 2026")] == ["500"]
    assert sum(l.startswith("| time |") for l in table) == 2


def test_learning_rate_warms_up_from_zero_and_rewarms_briefly_after_a_resume():
    from train_transformer import REWARM_STEPS, WARMUP_STEPS, learning_rate
    assert learning_rate(4e-4, 0, 0) == pytest.approx(4e-4 / WARMUP_STEPS)
    assert learning_rate(4e-4, 249, 0) == pytest.approx(2e-4)
    assert learning_rate(4e-4, WARMUP_STEPS - 1, 0) == pytest.approx(4e-4)
    assert learning_rate(4e-4, 10_000, 0) == pytest.approx(4e-4)
    # From a committed export at step 1,687: a short ramp, then the full rate.
    assert learning_rate(4e-4, 1687, 1687) == pytest.approx(4e-4 / REWARM_STEPS)
    assert learning_rate(4e-4, 1687 + REWARM_STEPS - 1, 1687) == pytest.approx(4e-4)
    assert learning_rate(4e-4, 1687 + REWARM_STEPS // 2 - 1, 1687) == pytest.approx(2e-4)
    assert REWARM_STEPS < WARMUP_STEPS
