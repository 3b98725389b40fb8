"""Turning the parsed options of `train`, `compare` and `study` into a TrainConfig."""

from __future__ import annotations

import argparse

from tlcore.core.config import TrainConfig


def config_from_args(args: argparse.Namespace, strategy: str) -> TrainConfig:
    per_class = getattr(args, "per_class", None)
    return TrainConfig(data=args.data, model=args.model, strategy=strategy, seed=args.seed,
                       per_class=per_class if isinstance(per_class, int) else None, epochs=args.epochs,
                       batch_size=args.batch_size, lr=args.lr, max_steps=getattr(args, "max_steps", None),
                       image_size=args.image_size, max_length=args.max_length, device=args.device,
                       label_smoothing=args.label_smoothing, patience=args.patience,
                       distill_temperature=args.temperature, distill_alpha=args.alpha,
                       text_column=args.text_column, label_column=args.label_column,
                       freeze_through=getattr(args, "freeze_through", None))


def strategy_list(text: str) -> list[str]:
    """'scratch, linear_probe' → ['scratch', 'linear_probe'] (checked by the registry where they are used)."""
    return [s.strip() for s in text.split(",") if s.strip()]
