"""The web server asks CUDA questions without importing torch (`tlcore.train.device`): the answers it gets are
torch's own."""

import torch

from tlcore.train import device


def test_a_process_without_torch_gets_torchs_own_answers_from_a_short_lived_python(monkeypatch):
    monkeypatch.setattr(device, "_driver_present", lambda: True)  # as on a machine with a GPU driver
    assert device._asked.__wrapped__() == device.answers(torch)


def test_without_a_gpu_driver_there_is_no_cuda_device(monkeypatch):
    monkeypatch.setattr(device, "_driver_present", lambda: False)
    assert device._asked.__wrapped__() == {"available": False, "count": 0}
    if not torch.cuda.is_available():
        assert device.answers(torch) == {"available": False, "count": 0}
