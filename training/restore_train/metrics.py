"""Quality metrics of engine.md §4, in numpy."""
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


def band_energy(x, sr, lo, hi):
    """Energy of x between lo and hi Hz (whole-signal spectrum)."""
    s = np.abs(np.fft.rfft(np.asarray(x, dtype=np.float64))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sr)
    return float(s[(f >= lo) & (f < hi)].sum())


def level_bias(reference, estimate, sr=22050, lo=4000.0, hi=8000.0):
    """10·log10 of the estimate's energy over the reference's in [lo, hi) Hz (a generated
    band's level error, dB; negative = too quiet)."""
    n = min(len(reference), len(estimate))
    return float(10 * np.log10((band_energy(estimate[:n], sr, lo, hi) + 1e-20) / (band_energy(reference[:n], sr, lo, hi) + 1e-20)))


ENVELOPE_BANDS = ((4000, 5000), (5000, 6500), (6500, 8000), (8000, 11025))


def envelope_error(reference, estimate, sr=22050, bands=ENVELOPE_BANDS, signed=False):
    """Per STFT frame (2048/512) the energy in dB of each sub-band of the estimate minus the
    reference's; mean |error| (or mean error with signed=True) over frames where the
    reference sub-band is within 60 dB of its loudest frame. Sub-bands above Nyquist are skipped."""
    n = min(len(reference), len(estimate))
    p, q = _power(reference[:n]), _power(estimate[:n])
    freqs = np.arange(p.shape[1]) * sr / 2048
    errs = []
    for lo, hi in bands:
        m = (freqs >= lo) & (freqs < min(hi, sr / 2))
        if not m.any():
            continue
        ep = 10 * np.log10(p[:, m].sum(1) + 1e-20)
        eq = 10 * np.log10(q[:, m].sum(1) + 1e-20)
        keep = ep >= ep.max() - 60
        d = (eq - ep)[keep]
        errs.append(d if signed else np.abs(d))
    return float(np.mean(np.concatenate(errs))) if errs else 0.0
