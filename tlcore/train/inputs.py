"""Batches for the training loop: one interface over decoded images, token ids and cached features.

Everything is decoded once into tensors (airbench style): images as uint8 at the model's resolution,
texts as padded token ids. Per step we only index, move to the device and (for images) augment with
batched tensor ops, so no DataLoader workers or PIL calls sit on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

# (model inputs, labels, dataset indices of the rows) — indices because text batches are reordered by length.
Batch = tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]


class Inputs(Protocol):
    def batches(self, indices: torch.Tensor, batch_size: int, *, train: bool,
                generator: torch.Generator | None = None) -> Iterator[Batch]: ...


def shuffled_chunks(indices: torch.Tensor, batch_size: int, train: bool,
                    generator: torch.Generator | None) -> list[torch.Tensor]:
    if train:
        indices = indices[torch.randperm(len(indices), generator=generator)]
    chunks = [indices[i:i + batch_size] for i in range(0, len(indices), batch_size)]
    if train:
        chunks = fold_single_tail(chunks)
    return chunks


def fold_single_tail(chunks: list[torch.Tensor]) -> list[torch.Tensor]:
    """Batch-norm cannot train on one example (e.g. 33 items in batches of 32): join it to the batch before."""
    if len(chunks) > 1 and len(chunks[-1]) == 1:
        chunks = chunks[:-2] + [torch.cat(chunks[-2:])]
    return chunks


@dataclass
class ImageInputs:
    """uint8 images [N,3,S,S] (on the device when it is a GPU), normalised and augmented per batch."""

    images: torch.Tensor
    labels: torch.Tensor
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    device: torch.device
    augment: bool = True
    channels_last: bool = False

    def __post_init__(self) -> None:
        self.images = self.images.to(self.device)
        self.labels = self.labels.to(self.device)
        shape = (1, 3, 1, 1)
        self._mean = torch.tensor(self.mean, device=self.device).view(shape) * 255
        self._std = torch.tensor(self.std, device=self.device).view(shape) * 255

    def batches(self, indices: torch.Tensor, batch_size: int, *, train: bool,
                generator: torch.Generator | None = None) -> Iterator[Batch]:
        for chunk in shuffled_chunks(indices, batch_size, train, generator):
            chunk = chunk.to(self.device)
            x = self.images[chunk].float()
            if train and self.augment:
                x = random_resized_crop_flip(x, generator)
            x = (x - self._mean) / self._std
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield (x,), self.labels[chunk], chunk


def random_resized_crop_flip(x: torch.Tensor, generator: torch.Generator | None,
                             scale: tuple[float, float] = (0.6, 1.0)) -> torch.Tensor:
    """Per-example random crop (area in `scale`, resized back) and horizontal flip, as one grid_sample.

    Random numbers are drawn on the CPU generator so runs are reproducible on every device.
    """
    n = x.shape[0]
    area = torch.empty(n).uniform_(*scale, generator=generator)
    side = area.sqrt()
    shift_x = (torch.rand(n, generator=generator) * 2 - 1) * (1 - side)
    shift_y = (torch.rand(n, generator=generator) * 2 - 1) * (1 - side)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = side * flip
    theta[:, 0, 2] = shift_x
    theta[:, 1, 1] = side
    theta[:, 1, 2] = shift_y
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@dataclass
class TextInputs:
    """Token ids padded to the longest text; each batch is cut to its own longest (dynamic padding)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    device: torch.device
    bucket_factor: int = 8

    def __post_init__(self) -> None:
        self.lengths = self.attention_mask.sum(dim=1)

    def batches(self, indices: torch.Tensor, batch_size: int, *, train: bool,
                generator: torch.Generator | None = None) -> Iterator[Batch]:
        for chunk in self._length_bucketed(indices, batch_size, train, generator):
            width = max(int(self.lengths[chunk].max()), 1)
            ids = self.input_ids[chunk, :width].to(self.device, non_blocking=True)
            mask = self.attention_mask[chunk, :width].to(self.device, non_blocking=True)
            yield (ids, mask), self.labels[chunk].to(self.device, non_blocking=True), chunk

    def _length_bucketed(self, indices: torch.Tensor, batch_size: int, train: bool,
                         generator: torch.Generator | None) -> list[torch.Tensor]:
        """Group similar lengths so little compute is spent on padding; shuffle groups when training."""
        if not train:
            order = indices[torch.argsort(self.lengths[indices], descending=True)]
            return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        indices = indices[torch.randperm(len(indices), generator=generator)]
        pool = batch_size * self.bucket_factor
        chunks: list[torch.Tensor] = []
        for start in range(0, len(indices), pool):
            part = indices[start:start + pool]
            part = part[torch.argsort(self.lengths[part], descending=True)]
            chunks += fold_single_tail([part[i:i + batch_size] for i in range(0, len(part), batch_size)])
        order = torch.randperm(len(chunks), generator=generator).tolist()
        return [chunks[i] for i in order]


@dataclass
class FeatureInputs:
    """Cached backbone features [N, D] for the linear probe: training touches only the head."""

    features: torch.Tensor
    labels: torch.Tensor
    device: torch.device

    def __post_init__(self) -> None:
        self.features = self.features.to(self.device)
        self.labels = self.labels.to(self.device)

    def batches(self, indices: torch.Tensor, batch_size: int, *, train: bool,
                generator: torch.Generator | None = None) -> Iterator[Batch]:
        for chunk in shuffled_chunks(indices, batch_size, train, generator):
            chunk = chunk.to(self.device)
            yield (self.features[chunk],), self.labels[chunk], chunk
