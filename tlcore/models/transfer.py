"""The uniform module every model is wrapped in (TransferModel): a backbone and a fresh linear head."""

from __future__ import annotations

import torch
from torch import nn

from tlcore.models.spec import ModelSpec


class TransferModel(nn.Module):
    """A backbone (`body`: inputs → [B, feature_dim]) and a fresh linear `head` (→ [B, num_classes]).

    Images call `model(x)` with x a float [B,3,H,W]; text models call `model(input_ids, attention_mask)`.
    Strategies freeze or re-learn-rate `body` and `head` separately; the linear probe trains the head on
    cached `features(...)`.
    """

    def __init__(self, spec: ModelSpec, body: nn.Module, feature_dim: int, num_classes: int) -> None:
        super().__init__()
        self.spec = spec
        self.body = body
        self.feature_dim = feature_dim
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.body(*inputs)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(*inputs))
