"""The web server asks CUDA questions without importing torch (`tlcore.train.device`): the answers it gets are
torch's own."""

import torch

from tlcore.train import device


def test_a_process_without_torch_gets_torchs_own_answers_from_a_short_lived_python(monkeypatch):
    monkeypatch.setattr(device, "driver_present", lambda: True)  # as on a machine with a GPU driver
    assert device._asked.__wrapped__() == device.answers(torch)


def test_without_a_gpu_driver_there_is_no_cuda_device(monkeypatch):
    monkeypatch.setattr(device, "driver_present", lambda: False)
    assert device._asked.__wrapped__() == {"available": False, "count": 0}
    if not torch.cuda.is_available():
        assert device.answers(torch) == {"available": False, "count": 0}


def test_the_cpus_bfloat16_instructions_are_read_as_torch_reads_them():
    """The flags say what torch's own CPU check says (the web server reads them without torch)."""
    device.cpu_bf16_native.cache_clear()
    assert device.cpu_bf16_native() == (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def test_only_the_flags_line_of_cpuinfo_counts():
    flags = "processor\t: 0\nmodel name\t: avx512_bf16 in a name\nflags\t\t: fpu avx2 avx512f {}\n"
    assert device.cpu_flags_have_bf16(flags.format("avx512_bf16"))
    assert device.cpu_flags_have_bf16(flags.format("amx_tile amx_bf16"))
    assert not device.cpu_flags_have_bf16(flags.format("avx512_vnni"))
    assert not device.cpu_flags_have_bf16("")
