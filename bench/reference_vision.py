"""Reference image loops: the PyTorch transfer-learning tutorial as people copy it, and on a GPU a
hand-written best-practice loop.

Tutorial: https://pytorch.org/tutorials/beginner/transfer_learning_tutorial.html ("Finetuning the ConvNet"):
a PIL dataset behind `DataLoader(batch_size=4, shuffle=True, num_workers=4)`; RandomResizedCrop(224) +
RandomHorizontalFlip + ToTensor + Normalize for training, Resize(256) + CenterCrop(224) for evaluation;
CrossEntropyLoss, SGD(lr=0.001, momentum=0.9), StepLR(step_size=7, gamma=0.1), 25 epochs, fp32, every layer
trained; a train and a val phase per epoch, and the weights of the best validation epoch are returned.

What differs from the tutorial, none of it in our favour: MobileNetV2 with its last Linear replaced instead
of ResNet-18 (the model under test); images are read with tlcore's `load_image` (the same RGB pixels our
engine sees: transparency composited on white) instead of ImageFolder's `Image.open().convert("RGB")`;
num_workers is capped at the CPU count, as DataLoader's own warning advises (no slower here); the model
is moved to the GPU when there is one, as the tutorial does.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms

from bench.measure import Side, Stopwatch
from tlcore.data import Dataset, load_image
from tlcore.models import get_spec
from tlcore.models.vision import imagenet_classifier

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
TUTORIAL_EPOCHS = 25


class PILDataset(torch.utils.data.Dataset):
    """(image tensor, label) for `indices` of a tlcore Dataset, decoded from file on every access."""

    def __init__(self, ds: Dataset, indices: np.ndarray, transform: Callable) -> None:
        self.ds, self.indices, self.transform = ds, np.asarray(indices), transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        j = int(self.indices[i])
        return self.transform(load_image(self.ds.items[j])), int(self.ds.labels[j])


def tutorial_model(model_id: str, num_classes: int) -> nn.Module:
    """The pretrained ImageNet classifier with its last Linear replaced (tutorial: `model_ft.fc = ...`)."""
    model = imagenet_classifier(get_spec(model_id), pretrained=True)
    if hasattr(model, "fc"):
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    else:
        last = len(model.classifier) - 1
        model.classifier[last] = nn.Linear(model.classifier[last].in_features, num_classes)
    return model


def run_tutorial(ds: Dataset, train_idx: np.ndarray, val_idx: np.ndarray, test_idx: np.ndarray, *,
                 model_id: str, epochs: int, seed: int) -> Side:
    """The tutorial's `train_model`, with the bench's test evaluation after each epoch (stopwatch paused)."""
    watch = Stopwatch()
    torch.manual_seed(seed)
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    train_tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
                                   transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    eval_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                  transforms.Normalize(MEAN, STD)])
    workers = min(4, os.cpu_count() or 1)
    loaders = {
        "train": DataLoader(PILDataset(ds, train_idx, train_tf), batch_size=4, shuffle=True, num_workers=workers),
        "val": DataLoader(PILDataset(ds, val_idx, eval_tf), batch_size=4, shuffle=True, num_workers=workers),
    }
    test_loader = DataLoader(PILDataset(ds, test_idx, eval_tf), batch_size=4, num_workers=workers)
    model = tutorial_model(model_id, ds.num_classes).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
    side = Side("torchvision tutorial loop", train_start_s=watch.now())
    best_acc, best_state, best_test = -1.0, copy.deepcopy(model.state_dict()), float("nan")
    for _ in range(epochs):
        _tutorial_phase(model, loaders["train"], True, criterion, optimizer, device)
        scheduler.step()
        val_acc = _tutorial_phase(model, loaders["val"], False, criterion, optimizer, device)
        improved = val_acc > best_acc
        if improved:
            best_acc, best_state = val_acc, copy.deepcopy(model.state_dict())
        with watch.pause():
            test_acc = accuracy(model, test_loader, device)
            best_test = test_acc if improved else best_test
        side.epochs.append((watch.now(), len(train_idx), test_acc))
    model.load_state_dict(best_state)
    side.wall_s = watch.now()
    side.final_accuracy = best_test
    side.extra = {"batch_size": 4, "image_size": 224, "num_workers": workers, "device": device.type}
    return side


def _tutorial_phase(model: nn.Module, loader: DataLoader, train: bool, criterion: nn.Module,
                    optimizer: torch.optim.Optimizer, device: torch.device) -> float:
    model.train(train)
    correct = seen = 0
    for inputs, labels in loader:
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        with torch.set_grad_enabled(train):
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            if train:
                loss.backward()
                optimizer.step()
        correct += int((outputs.argmax(1) == labels).sum())  # the tutorial syncs here every step, too
        seen += len(labels)
    return correct / max(seen, 1)


@torch.inference_mode()
def accuracy(model: nn.Module, loader: DataLoader, device: torch.device) -> float:
    model.eval()
    correct = seen = 0
    for inputs, labels in loader:
        correct += int((model(inputs.to(device)).argmax(1).cpu() == labels).sum())
        seen += len(labels)
    return correct / max(seen, 1)


# ---------------------------------------------------------------- best practice on a GPU, by hand

GPU_BATCH = 64


def run_gpu_loop(ds: Dataset, train_idx: np.ndarray, val_idx: np.ndarray, test_idx: np.ndarray, *,
                 model_id: str, epochs: int, seed: int, image_size: int = 224) -> Side:
    """What a careful engineer writes for a GPU: decode once to uint8 (256 px for 224) kept on the device,
    random 224 crops + flips as tensor ops, no DataLoader, channels_last, bf16 autocast, batch 64 with the
    tutorial's optimiser and schedule (lr scaled linearly with the batch), no per-step host sync."""
    watch = Stopwatch()
    torch.manual_seed(seed)
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    decoded = round(image_size * 256 / 224)  # 256 for 224
    prep = transforms.Compose([transforms.Resize(decoded), transforms.CenterCrop(decoded), transforms.PILToTensor()])
    images = torch.stack([prep(load_image(ref)) for ref in ds.items]).to(device)
    labels = torch.as_tensor(ds.labels, device=device)
    mean, std = (torch.tensor(v, device=device).view(1, 3, 1, 1) * 255 for v in (MEAN, STD))
    model = tutorial_model(model_id, ds.num_classes).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001 * GPU_BATCH / 4, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
    train, val, test = (torch.as_tensor(i, device=device) for i in (train_idx, val_idx, test_idx))

    def batch(idx: torch.Tensor, augment: bool) -> torch.Tensor:
        x = _crop(images[idx], image_size, augment)
        return ((x.float() - mean) / std).contiguous(memory_format=torch.channels_last)

    side = Side("hand-written GPU loop", train_start_s=watch.now())
    best_acc, best_state, best_test = -1.0, copy.deepcopy(model.state_dict()), float("nan")
    for _ in range(epochs):
        _gpu_epoch(model, optimizer, train, labels, batch)
        scheduler.step()
        val_acc = _tensor_accuracy(model, val, labels, batch)
        improved = val_acc > best_acc
        if improved:
            best_acc, best_state = val_acc, copy.deepcopy(model.state_dict())
        with watch.pause():
            test_acc = _tensor_accuracy(model, test, labels, batch)
            best_test = test_acc if improved else best_test
        side.epochs.append((watch.now(), len(train_idx), test_acc))
    model.load_state_dict(best_state)
    side.wall_s, side.final_accuracy = watch.now(), best_test
    side.extra = {"batch_size": GPU_BATCH, "image_size": image_size, "bf16": True, "channels_last": True,
                  "device": device.type}
    return side


def _gpu_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, train: torch.Tensor, labels: torch.Tensor,
               batch) -> None:
    model.train()
    order = train[torch.randperm(len(train), device=train.device)]
    for chunk in order.split(GPU_BATCH):
        with torch.autocast(train.device.type, dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(model(batch(chunk, True)), labels[chunk])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def _crop(x: torch.Tensor, size: int, augment: bool) -> torch.Tensor:
    """Per-example random crops (e.g. 224 of [B,3,256,256]) and horizontal flips (centre crop when not
    augmenting)."""
    n = x.shape[0]
    if not augment:
        offset = (x.shape[-1] - size) // 2
        return x[..., offset:offset + size, offset:offset + size]
    span = torch.arange(size, device=x.device)
    top = torch.randint(0, x.shape[-2] - size + 1, (n, 1), device=x.device) + span
    left = torch.randint(0, x.shape[-1] - size + 1, (n, 1), device=x.device) + span
    flip = torch.rand(n, 1, device=x.device) < 0.5
    left = torch.where(flip, left.flip(1), left)
    rows = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    chans = torch.arange(3, device=x.device).view(1, 3, 1, 1)
    return x[rows, chans, top.view(n, 1, size, 1), left.view(n, 1, 1, size)]


@torch.inference_mode()
def _tensor_accuracy(model: nn.Module, idx: torch.Tensor, labels: torch.Tensor, batch: Callable) -> float:
    model.eval()
    correct = torch.zeros((), device=idx.device)
    for chunk in idx.split(GPU_BATCH * 2):
        with torch.autocast(idx.device.type, dtype=torch.bfloat16):
            correct += (model(batch(chunk, False)).argmax(1) == labels[chunk]).sum()
    return float(correct) / max(len(idx), 1)
