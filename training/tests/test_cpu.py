"""bf16 autocast only where the CPU has it natively (restore_train/cpu.py)."""
import logging
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from restore_train.cpu import cpu_flags, native_bf16, use_bf16  # noqa: E402

AVX2_ONLY = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma\n"
SAPPHIRE = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n"


def test_flags_are_read_from_the_first_processor():
    assert cpu_flags(AVX2_ONLY) == {"fpu", "sse2", "avx", "avx2", "fma"}
    assert cpu_flags("") == set()


def test_native_bf16_needs_avx512_bf16_or_amx():
    assert not native_bf16(AVX2_ONLY)
    assert native_bf16(SAPPHIRE)
    assert native_bf16("flags : avx2 amx_bf16\n")


def test_asked_bf16_is_dropped_with_a_log_line_on_an_avx2_cpu(caplog):
    log = logging.getLogger("test-cpu")
    with caplog.at_level(logging.INFO, logger="test-cpu"):
        assert use_bf16(True, log, AVX2_ONLY) is False
    assert "--bf16 ignored: this CPU has no native bf16" in caplog.text
    assert use_bf16(True, log, SAPPHIRE) is True
    assert use_bf16(False, log, SAPPHIRE) is False
