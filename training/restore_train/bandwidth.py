"""Effective bandwidth of a recording from its long-term power spectrum (training corpus v2).

A *cutoff* is a steep edge followed by a floor that stays down up to Nyquist: the
signature of a low-pass (a codec's, a resampler's, a band-limited source's). A natural
roll-off, however deep, falls gradually and is not a cutoff. Work at the file's
ORIGINAL sample rate, before any resampling, so a resampler's own edge is not measured.

    psd = LongTermSpectrum(sr); psd.add(x); bw = estimate(psd.freqs, psd.power, sr)
    bandwidth_hz(x, sr)                     # the same in one call

`estimate` returns the edge frequency (where the level has fallen 6 dB below the
pass band just under the edge) when a confident edge exists, else Nyquist (full band).

The rule, on the spectrum in dB smoothed to 1/48-octave steps:
  an edge at f with width w = EDGE_OCTAVES (1/12 octave) is confident when
  pass = median level in [f·2^(-1/4), f·2^(-w/2)]  (the band just below the edge)
  stop = 90th percentile of the level in [f·2^(+w/2), 0.97·Nyquist] (all of the rest)
  pass − stop ≥ DROP_DB (25 dB), with a fall of ≥ STEEP_DB (20 dB) within 1/12 octave
  somewhere at the edge, the lowest such f, with the pass band still signal
  (within 60 dB of the spectrum's top) and the edge under 0.85·Nyquist (above, it is
  the recording's own anti-alias filter: full band).
Taking the 90th percentile of *everything above* the edge is what rejects natural
roll-off: a gentle slope's first bins above f are barely below the pass band.
"""
from __future__ import annotations

import numpy as np

DROP_DB = 25.0          # the edge's minimum depth
EDGE_OCTAVES = 1 / 12   # the edge's maximum width
STEP_OCTAVES = 1 / 48   # analysis grid
PASS_OCTAVES = 1 / 4    # the pass band just below the edge
MIN_EDGE_HZ = 500.0     # the analysis grid starts here
MIN_CUTOFF_HZ = 1000.0  # edges below this are not cutoffs (a beep's or a whoosh's own spectrum)
TOP_FRACTION = 0.97     # the floor is checked up to this fraction of Nyquist
MIN_STOP_OCTAVES = 1 / 24   # an edge closer than this to the top is the anti-alias filter: full band
SILENT_DB = -150.0      # power below this (dB re full-scale sine) is digital silence
FLOOR_DB = 100.0        # levels more than this under the spectrum's top are clipped (numerical floor)
SIGNAL_DB = 60.0        # a pass band this far under the spectrum's top is no longer signal
STEEP_DB = 20.0        # the edge falls at least this much within 1/12 octave somewhere near it
ANTIALIAS_FRACTION = 0.85   # an edge above this fraction of Nyquist is the anti-alias filter


def nfft_for(sr: int) -> int:
    """A frame long enough for ~10 Hz bins at any rate (4096 at 44.1 kHz)."""
    n = 256
    while sr / n > 11.0:
        n *= 2
    return n


class LongTermSpectrum:
    """Accumulates the mean power spectrum (Hann frames, 50% overlap) of a stream."""

    def __init__(self, sr: int, nfft: int | None = None):
        self.sr = int(sr)
        self.nfft = nfft or nfft_for(self.sr)
        self.window = np.hanning(self.nfft + 1)[:-1].astype(np.float64)
        self.norm = 1.0 / np.sum(self.window ** 2)
        self.sum = np.zeros(self.nfft // 2 + 1)
        self.frames = 0

    @property
    def freqs(self) -> np.ndarray:
        return np.arange(self.nfft // 2 + 1) * self.sr / self.nfft

    @property
    def power(self) -> np.ndarray:
        return self.sum / max(1, self.frames)

    def add(self, x: np.ndarray) -> "LongTermSpectrum":
        x = np.asarray(x, dtype=np.float64)
        if x.ndim > 1:
            x = x.mean(axis=1)
        n, hop = self.nfft, self.nfft // 2
        if len(x) < n:
            x = np.pad(x, (0, n - len(x)))
        count = 1 + (len(x) - n) // hop
        for s in range(0, count, 256):     # bounded memory for long inputs
            idx = np.arange(n)[None, :] + hop * np.arange(s, min(count, s + 256))[:, None]
            spec = np.fft.rfft(x[idx] * self.window[None, :], axis=1)
            self.sum += np.sum(spec.real ** 2 + spec.imag ** 2, axis=0) * self.norm
        self.frames += count
        return self

    def merged(self, other: "LongTermSpectrum") -> "LongTermSpectrum":
        assert other.sr == self.sr and other.nfft == self.nfft
        out = LongTermSpectrum(self.sr, self.nfft)
        out.sum = self.sum + other.sum
        out.frames = self.frames + other.frames
        return out


def _smoothed_db(freqs: np.ndarray, power: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Mean power in 1/48-octave bands around each grid point, in dB (linear-interpolated
    where a band holds no bin)."""
    db = np.full(len(grid), np.nan)
    half = 2 ** (STEP_OCTAVES / 2)
    lo = np.searchsorted(freqs, grid / half)
    hi = np.searchsorted(freqs, grid * half)
    csum = np.concatenate([[0.0], np.cumsum(power)])
    has = hi > lo
    db[has] = 10 * np.log10((csum[hi[has]] - csum[lo[has]]) / (hi[has] - lo[has]) + 1e-30)
    if not has.all():
        db[~has] = 10 * np.log10(np.interp(grid[~has], freqs, power) + 1e-30)
    return db


def estimate(freqs: np.ndarray, power: np.ndarray, sr: int, return_detail: bool = False):
    """Bandwidth in Hz of a long-term power spectrum at sample rate sr (see module doc)."""
    nyq = sr / 2
    top = TOP_FRACTION * nyq
    full = (float(nyq), {"edge": False}) if return_detail else float(nyq)
    power = np.asarray(power, dtype=np.float64)
    if power.size == 0 or 10 * np.log10(power.max() + 1e-30) < SILENT_DB:
        return full
    n = int(np.floor(np.log2(top / MIN_EDGE_HZ) / STEP_OCTAVES)) + 1
    if n < 8:
        return full
    grid = MIN_EDGE_HZ * 2 ** (STEP_OCTAVES * np.arange(n))
    db = _smoothed_db(freqs, power, grid)
    ref = np.percentile(db, 95)
    db = np.maximum(db, ref - FLOOR_DB)          # numerical noise is not a spectrum
    half_w = int(round(EDGE_OCTAVES / 2 / STEP_OCTAVES))     # 2 grid steps
    pass_n = int(round(PASS_OCTAVES / STEP_OCTAVES))          # 12 grid steps
    min_stop = int(round(MIN_STOP_OCTAVES / STEP_OCTAVES))
    found = None
    # 90th percentile of every suffix db[k:], from the top down with a sorted list.
    import bisect
    stop90 = np.full(n + 1, np.nan)
    suffix: list[float] = []
    for k in range(n - 1, -1, -1):
        bisect.insort(suffix, float(db[k]))
        m = len(suffix)
        pos = 0.9 * (m - 1)          # numpy's default (linear) percentile
        lo = int(np.floor(pos))
        hi = min(lo + 1, m - 1)
        stop90[k] = suffix[lo] + (suffix[hi] - suffix[lo]) * (pos - lo)
    windows = np.lib.stride_tricks.sliding_window_view(db, pass_n + 1)
    pass_med = np.median(windows, axis=1)    # pass_med[j] = median of db[j:j + pass_n + 1]
    # The lowest confident edge: everything above it stays DROP_DB under the band below it.
    for i in range(pass_n + half_w, n - half_w - min_stop):
        if grid[i] < MIN_CUTOFF_HZ:
            continue
        p_hi = i - half_w
        pass_db = pass_med[p_hi - pass_n]
        if pass_db < ref - SIGNAL_DB:
            continue          # the content has already faded out: a roll-off, not an edge
        stop_db = stop90[i + half_w]
        if pass_db - stop_db >= DROP_DB:
            # ... and the fall is steep somewhere at the edge: a resonance's natural
            # slope (a grunt's formant) falls a few dB per 1/12 octave, a filter's tens.
            lo, hi = max(0, i - 2 * half_w), min(n - 2 * half_w - 1, i + 6 * half_w)
            steep = max((db[j] - db[j + 2 * half_w] for j in range(lo, hi + 1)), default=0.0)
            if steep >= STEEP_DB:
                found = (i, pass_db - stop_db, pass_db, stop_db, steep)
                break
    if found is None:
        return full
    i, drop, pass_db, stop_db, steep = found
    # The edge: the first grid point from i on that falls 6 dB under the pass band,
    # refined linearly between it and the point before.
    level = pass_db - 6.0
    k = i - half_w
    while k < n - 1 and db[k + 1] >= level:
        k += 1
    if k + 1 < n and db[k] > db[k + 1]:
        t = (db[k] - level) / (db[k] - db[k + 1])
        f = grid[k] * 2 ** (STEP_OCTAVES * min(max(t, 0.0), 1.0))
    else:
        f = grid[k]
    if f >= ANTIALIAS_FRACTION * nyq:
        return full           # a full-band recording's own anti-alias filter
    f = float(min(f, nyq))
    if return_detail:
        return f, {"edge": True, "drop_db": float(drop), "pass_db": float(pass_db), "stop_db": float(stop_db), "steep_db": float(steep)}
    return f


def bandwidth_hz(x: np.ndarray, sr: int) -> float:
    s = LongTermSpectrum(sr).add(x)
    return estimate(s.freqs, s.power, sr)


def full_band(bandwidth: float, source_rate: int | None = None, analysis_rate: int = 22050, threshold: float = 7500.0) -> bool:
    """A usable bandwidth-extension target at the analysis rate (22 050 Hz: 8 kHz mel top):
    content up to at least 7.5 kHz, from a file whose own rate reaches the analysis rate (a
    16 kHz file, such as the G.722 telephone prompts, is speech material, not a target)."""
    if source_rate is not None and source_rate < analysis_rate:
        return False
    return min(bandwidth, analysis_rate / 2) >= threshold
