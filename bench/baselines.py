"""DSP baselines every restoration report shows beside the model (engine.md §4)."""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "training"))
from restore_train import sbr as _sbr  # noqa: E402


def spectral_band_replication(x, sr, cutoff):
    """The SBR baseline (top octave below the cutoff copied up with slope continuation; the
    reference implementation the Swift BandReplication is tested against)."""
    return _sbr.spectral_band_replication(x, sr, cutoff)


def burg(x, order):
    """Burg's method: AR coefficients a (a[0] = 1) minimising forward+backward error."""
    x = np.asarray(x, dtype=np.float64)
    f, b = x[1:].copy(), x[:-1].copy()
    a = np.array([1.0])
    for _ in range(order):
        k = -2 * np.dot(f, b) / (np.dot(f, f) + np.dot(b, b) + 1e-20)
        a = np.concatenate([a, [0.0]])
        a = a + k * a[::-1]
        f, b = (f + k * b)[1:], (b + k * f)[:-1]
    return a


def extrapolate(context, a, n):
    """Continues `context` by n samples with the AR model a."""
    order = len(a) - 1
    buf = list(context[-order:])
    out = []
    for _ in range(n):
        v = -np.dot(a[1:], buf[::-1][:order])
        buf.append(v)
        out.append(v)
    return np.array(out)


def lpc_fill(x, start, end, order=256, context=4096):
    """Linear-prediction gap fill: Burg AR models extrapolate forwards from the left context
    and backwards from the right, joined by a linear crossfade across the gap."""
    x = np.asarray(x, dtype=np.float64).copy()
    n = end - start
    left = x[max(0, start - context):start]
    right = x[end:end + context]
    fwd = extrapolate(left, burg(left, order), n) if len(left) > order + 1 else np.zeros(n)
    bwd = extrapolate(right[::-1], burg(right[::-1], order), n)[::-1] if len(right) > order + 1 else np.zeros(n)
    ramp = np.linspace(0, 1, n)
    x[start:end] = (1 - ramp) * fwd + ramp * bwd
    return x.astype(np.float32)
