"""What the training CPU can do fast.

bf16 autocast pays only where the CPU multiplies bf16 natively (AVX-512 BF16 or AMX): there it
made a transformer step 2.3-3.1x faster; on a CPU with AVX2 only, PyTorch emulates it and the
same step was 17x slower than float32 (8x384 transformer, batch 16, one thread: 6 s vs 105 s).
"""
from __future__ import annotations

import pathlib

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The feature flags of the first processor in /proc/cpuinfo (empty where there is none)."""
    if cpuinfo is None:
        path = pathlib.Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.exists() else ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def native_bf16(cpuinfo: str | None = None) -> bool:
    return any(f in cpu_flags(cpuinfo) for f in NATIVE_BF16_FLAGS)


def use_bf16(asked: bool, log=None, cpuinfo: str | None = None) -> bool:
    """--bf16 means "where it is fast": off, with a log line, on a CPU without native bf16."""
    if asked and not native_bf16(cpuinfo):
        if log is not None:
            log.info("--bf16 ignored: this CPU has no native bf16 (%s), float32 is much faster here",
                     " or ".join(NATIVE_BF16_FLAGS))
        return False
    return asked
