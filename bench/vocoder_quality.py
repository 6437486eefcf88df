#!/usr/bin/env python3
"""Log-mel L1 of analysis–resynthesis on a 10 s music clip: Swift `restore vocode`
against PyTorch's own resynthesis with the same weights, both scored by the same
numpy front end at 22 050 Hz. Prints one JSON object.

    bench/vocoder_quality.py [CLIP]     (default: a synthesised 10 s music clip)
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(ROOT / "scripts"))
from export_hifigan import load_generator  # noqa: E402
from restore_train import mel  # noqa: E402
from restore_train.safetensors_io import load_safetensors  # noqa: E402


def music_clip(seconds=10.0):
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "scripts" / "make-examples.py")
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    ex.SECONDS = seconds
    x = ex.synth().mean(axis=1)
    return x, ex.SR


def main():
    tmp = pathlib.Path(tempfile.mkdtemp())
    if len(sys.argv) > 1:
        x, sr = sf.read(sys.argv[1], dtype="float32", always_2d=True)
        x = x.mean(axis=1)[: int(10 * sr)]
        name = sys.argv[1]
    else:
        x, sr = music_clip()
        name = "synthesised chords (scripts/make-examples.py, 10 s)"
    # Both sides start from the same 22 050 Hz signal: resample once with the Swift tool's rate.
    src = tmp / "in.wav"
    sf.write(src, x.astype(np.float32), sr, subtype="FLOAT")
    if sr != 22050:
        import scipy.signal
        x = scipy.signal.resample_poly(x, 22050, sr).astype(np.float32)
        src = tmp / "in22.wav"
        sf.write(src, x, 22050, subtype="FLOAT")
    ref_mel = mel.log_mel(x)

    gen, _ = load_generator()
    tensors, _ = load_safetensors(ROOT / "Models/pretrained/hifigan-universal.safetensors")
    gen.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
    with torch.inference_mode():
        y_torch = gen(torch.from_numpy(ref_mel.astype(np.float32))[None]).squeeze().numpy()
    out = tmp / "swift.wav"
    restore = os.environ.get("RESTORE_BIN", str(ROOT / ".build/release/restore"))
    subprocess.run([restore, "vocode", str(src), "-o", str(out), "--encoding", "float"], check=True, capture_output=True)
    y_swift, _ = sf.read(out, dtype="float32")

    def l1(y):
        m = mel.log_mel(y[: len(x)])
        f = min(m.shape[1], ref_mel.shape[1])
        return float(np.abs(m[:, :f] - ref_mel[:, :f]).mean())

    a, b = l1(y_torch), l1(y_swift)
    print(json.dumps({"clip": name, "pytorchMelL1": a, "swiftMelL1": b, "ratio": b / a}, indent=1))


if __name__ == "__main__":
    main()
