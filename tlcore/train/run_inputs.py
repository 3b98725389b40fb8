"""The tensors one run trains on: decoded images or token ids for the whole dataset, and the cached frozen
features that the probe, nearest neighbours and the feature-based strategies read instead."""

from __future__ import annotations

import dataclasses

import torch

from tlcore.core import strategies
from tlcore.data import decode_images
from tlcore.models import TransferModel, text_encoder_for
from tlcore.train.defaults import inference_bf16
from tlcore.train.feature_cache import feature_cache_file
from tlcore.train.features import cached_features, compute_features
from tlcore.train.inputs import FeatureInputs, ImageInputs, Inputs, TextInputs
from tlcore.train.loop import EventSink
from tlcore.train.prepare import Prepared
from tlcore.train.results import phase


def build_inputs(prep: Prepared, device: torch.device, emit: EventSink) -> Inputs:
    ds, spec, r = prep.dataset, prep.spec, prep.resolved
    labels = torch.as_tensor(ds.labels)
    if ds.modality == "image":
        images = decode_images(ds, r.image_size, crop_pct=spec.crop_pct, interpolation=spec.interpolation,
                               progress=lambda done, total: emit("phase", phase("Preparing images", done, total)))
        return ImageInputs(images, labels, spec.mean, spec.std, device, augment=prep.config.augment,
                           channels_last=r.channels_last)
    encoder = text_encoder_for(dataclasses.replace(spec, max_length=r.max_length))
    emit("phase", phase("Tokenising texts", 0, len(ds)))
    encoded = encoder(list(ds.items))
    return TextInputs(encoded["input_ids"], encoded["attention_mask"], labels, device)


def feature_inputs(prep: Prepared, model: TransferModel, inputs: Inputs, device: torch.device,
                   emit: EventSink) -> FeatureInputs:
    r, ds = prep.resolved, prep.dataset
    path = feature_cache_file(prep)

    def progress(done: int, total: int) -> None:
        emit("phase", phase("Computing pretrained features", done, total))

    def compute() -> torch.Tensor:
        progress(0, len(ds))  # the pass starts now (only on a cache miss)
        pretrained = prep.spec if strategies.get(prep.config.strategy).pretrained else None
        return compute_features(model.body, inputs, len(ds), r.batch_size * 2, amp_bf16=inference_bf16(r),
                                progress=progress, model_id=prep.spec.id, pretrained=pretrained)
    features = cached_features(path, len(ds), compute)
    return FeatureInputs(features, torch.as_tensor(ds.labels), device)
