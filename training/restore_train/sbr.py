"""Spectral band replication, the DSP baseline of bandwidth extension, exactly as the
project defines it (the reference the Swift `BandReplication` is tested against):

* STFT n_fft 1024, hop 256, periodic Hann; reflect padding of n_fft/2 at the start and
  n_fft/2 + n_fft at the end; weighted overlap-add inverse.
* Source band: the top octave below the cutoff, bins [round(c/2·N/sr), round(0.98c·N/sr)),
  its width rounded down to a multiple of n_fft/hop bins and taken from the top, so that
  every copy is shifted by a multiple of n_fft/hop bins and keeps frame-to-frame phase.
* Copies: the complex source bins, patch after patch upward from the top of the source
  band until Nyquist; each copied bin scaled by (f_target/f_source)^b, b the least-squares
  slope of log10(magnitude) against log10(f) over the source band, clipped to [-4, 0].
  The baseline fits one slope per file, on the magnitudes averaged over time
  (`slope_frames=None`). The engine's band estimate (ENGINE_SLOPE) also fits one per STFT
  frame, on magnitudes smoothed over `slope_frames` frames (a moving sum, numpy's "same"
  alignment, zeros beyond the ends), and uses frame_share × the frame's slope +
  (1 − frame_share) × the file's: where the content above the cutoff changes from frame to
  frame (hi-hats over chords), one slope per file fits neither and copies the transients
  too quietly, while a frame's own slope alone is noisy (bench/sbr_slope.py).
* The copies alone are inverted, high-passed at the cutoff (the complement of a Kaiser
  FIR low-pass, 1025 taps, beta 8.6, applied forward and backward) and added to the input,
  so the input below the cutoff is untouched.
"""
from __future__ import annotations

import numpy as np

N_FFT, HOP = 1024, 256
# The engine's band estimate: the slope of 4 frames (≈46 ms at 22 050 Hz) and the file's, half each.
ENGINE_SLOPE = {"slope_frames": 4, "frame_share": 0.5}


def kaiser_lowpass(cutoff: float, sr: float, taps: int = 1025, beta: float = 8.6) -> np.ndarray:
    m = np.arange(taps) - (taps - 1) / 2
    fc = cutoff / sr
    h = 2 * fc * np.sinc(2 * fc * m) * np.kaiser(taps, beta)
    return h / h.sum()


def zero_phase(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """h applied forward and backward, centred (zero delay), zeros beyond the ends."""
    y = np.convolve(x, h, mode="same")
    return np.convolve(y[::-1], h, mode="same")[::-1]


def _frames(x: np.ndarray) -> np.ndarray:
    pad = np.pad(x, (N_FFT // 2, N_FFT // 2 + N_FFT), mode="reflect")
    count = 1 + (len(pad) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(count)[:, None]
    return pad[idx]


def _window() -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)


def stft(x: np.ndarray) -> np.ndarray:
    return np.fft.rfft(_frames(x) * _window(), axis=1)


def istft(spec: np.ndarray, length: int) -> np.ndarray:
    w = _window()
    frames = np.fft.irfft(spec, n=N_FFT, axis=1) * w
    out = np.zeros(HOP * (len(frames) - 1) + N_FFT)
    norm = np.zeros_like(out)
    for t, f in enumerate(frames):
        out[t * HOP:t * HOP + N_FFT] += f
        norm[t * HOP:t * HOP + N_FFT] += w * w
    out = np.where(norm > 1e-6, out / np.maximum(norm, 1e-6), 0)
    return out[N_FFT // 2:N_FFT // 2 + length]


def source_band(cutoff: float, sr: float) -> tuple[int, int]:
    """[first, end) bins of the source band (width a multiple of n_fft/hop)."""
    lo, hi = int(round(cutoff / 2 * N_FFT / sr)), int(round(0.98 * cutoff * N_FFT / sr))
    step = N_FFT // HOP
    width = (hi - lo) // step * step
    return hi - width, hi


def slope(spec: np.ndarray, first: int, end: int, sr: float) -> float:
    f = np.arange(first, end) * sr / N_FFT
    mag = np.abs(spec[:, first:end]).mean(axis=0) + 1e-12
    b = np.polyfit(np.log10(f), np.log10(mag), 1)[0]
    return float(np.clip(b, -4.0, 0.0))


def slope_per_frame(spec: np.ndarray, first: int, end: int, sr: float, frames: int) -> np.ndarray:
    """One slope per STFT frame, fitted on magnitudes summed over `frames` neighbouring frames."""
    logf = np.log10(np.arange(first, end) * sr / N_FFT)
    mag = np.abs(spec[:, first:end]) + 1e-12
    kernel = np.ones(frames)
    smoothed = np.stack([np.convolve(mag[:, j], kernel, mode="same") for j in range(mag.shape[1])], 1)
    design = np.vstack([logf, np.ones_like(logf)]).T
    b = np.linalg.lstsq(design, np.log10(smoothed).T, rcond=None)[0][0]
    return np.clip(b, -4.0, 0.0)


def high_band(x: np.ndarray, sr: float, cutoff: float, slope_frames: int | None = None,
              frame_share: float = 1.0) -> np.ndarray:
    """The replicated band alone (high-passed at the cutoff); `slope_frames` as in the module's notes."""
    x = np.asarray(x, dtype=np.float64)
    spec = stft(x)
    bins = spec.shape[1]
    first, end = source_band(cutoff, sr)
    width = end - first
    out = np.zeros_like(spec)
    if width <= 0 or first < 1:
        return np.zeros_like(x)
    b = np.full(len(spec), slope(spec, first, end, sr))
    if slope_frames is not None:
        b = frame_share * slope_per_frame(spec, first, end, sr, slope_frames) + (1 - frame_share) * b
    k = end
    while k < bins:
        n = min(width, bins - k)
        src = np.arange(first, first + n)
        dst = np.arange(k, k + n)
        out[:, dst] = spec[:, src] * (dst / src)[None, :] ** b[:, None]
        k += n
    y = istft(out, len(x))
    return y - zero_phase(y, kaiser_lowpass(cutoff, sr))


def spectral_band_replication(x: np.ndarray, sr: float, cutoff: float, slope_frames: int | None = None,
                              frame_share: float = 1.0) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return (x + high_band(x, sr, cutoff, slope_frames, frame_share)).astype(np.float32)
