"""Quality metrics of DESIGN §4, in numpy."""
import numpy as np


def _power(x, n_fft=2048, hop=512):
    x = np.asarray(x, dtype=np.float64)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    w = np.hanning(n_fft + 1)[:-1]
    frames = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    return np.maximum(np.abs(np.fft.rfft(x[idx] * w, axis=1)) ** 2, 1e-8)


def lsd(reference, estimate, sr=22050, cutoff=None, band="all"):
    """Log-spectral distance (NU-Wave/AudioSR convention): mean over frames of the RMS over
    bins of log10 P̂ − log10 P; band "hf"/"lf" keeps bins above/below `cutoff` Hz."""
    n = min(len(reference), len(estimate))
    p, q = _power(reference[:n]), _power(estimate[:n])
    d = (np.log10(q) - np.log10(p)) ** 2
    if band != "all":
        freqs = np.arange(p.shape[1]) * sr / 2048
        d = d[:, freqs > cutoff] if band == "hf" else d[:, freqs <= cutoff]
    return float(np.mean(np.sqrt(np.mean(d, axis=1))))
