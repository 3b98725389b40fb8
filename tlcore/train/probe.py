"""The linear probe of a PyTorch model: fitted on its cached frozen features (`tlcore.train.logistic`) and
copied into the model's linear head."""

from __future__ import annotations

import torch

from tlcore.train.inputs import FeatureInputs
from tlcore.train.logistic import probe_fit
from tlcore.train.results import EventSink, FitResult


def fit_logistic_probe(head: torch.nn.Linear, features: FeatureInputs, train_idx: torch.Tensor,
                       val_idx: torch.Tensor, emit: EventSink) -> FitResult:
    x = features.features.float().cpu().numpy()
    y = features.labels.cpu().numpy()
    fitted, result = probe_fit(x, y, train_idx.cpu().numpy(), val_idx.cpu().numpy(), head.out_features, emit)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(fitted.weight, dtype=head.weight.dtype))
        head.bias.copy_(torch.as_tensor(fitted.bias, dtype=head.bias.dtype))
    return result
