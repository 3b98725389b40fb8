"""The strategy registry: one declaration per way of training, read by the engine, the CLI and the pages.

A strategy is data (names, words, colour, learning rates, what it needs) plus one plan or solver function
in `tlcore.train.plans`, registered under the same id. Adding a strategy means adding a `Strategy` here and
its function there; nothing else in the engine or the UI lists strategies.

    for s in strategies_for(spec):        # the ones this model supports, in display order
        print(s.title, s.description)
    get("linear_probe").head_lr           # 1e-2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tlcore.core.errors import ConfigError

# Distillation's transfer set: at most this many training items left out by a per-class limit, taught with the
# teacher's answers only (their labels are never read). It bounds the student's epochs on large datasets.
TRANSFER_LIMIT = 300

# How a strategy is solved: stepped through epochs by the training loop, a convex probe solved on cached
# frozen features, or no optimisation at all (nearest neighbours on cached frozen features).
Solver = Literal["loop", "probe", "knn"]


@dataclass(frozen=True)
class Strategy:
    """Everything the engine and the UI need to know about one strategy.

    `head_lr` is the learning rate of the new last layer; pretrained layers train at `body_lr_ratio` of it
    (None: the modality's default ratio; scratch trains every layer at one rate). `cost` scales the time
    estimate of one epoch relative to a full fine-tune. `warm_start`: before the loop (images only, see
    `warm_starts`), the new last layer is fitted as a linear probe on the frozen pretrained features (LP-FT,
    Kumar et al., ICLR 2022), so training starts from a head that already works instead of a random one that
    first distorts the pretrained features.
    """

    id: str
    title: str  # "Linear probe": headings, pickers, legends
    label: str  # "linear probe": inside sentences
    description: str  # one plain sentence for people who are not ML experts
    colour: str  # the same colour on every chart, in the app and in reports
    pretrained: bool  # starts from pretrained weights
    solver: Solver = "loop"
    head_lr: float = 1e-3
    body_lr_ratio: float | None = None
    needs_adapters: bool = False  # LoRA: only models whose spec supports adapters
    cost: float = 1.0
    warm_start: bool = False
    teacher: bool = False  # learns from a pretrained teacher's answers (soft targets) besides the labels

    @property
    def transfer(self) -> bool:
        """Counts as transfer in verdicts: starts from, or reads, pretrained weights. A taught-from-scratch
        student (distillation) never holds pretrained weights, so it is neither transfer nor the baseline."""
        return self.pretrained

    @property
    def needs_pretrained_weights(self) -> bool:
        """The run loads pretrained weights somewhere (its own start, or its teacher)."""
        return self.pretrained or self.teacher

    @property
    def frozen_features(self) -> bool:
        """Reads only the frozen pretrained network's features (one cached forward pass per example)."""
        return self.solver in ("probe", "knn")

    def warm_starts(self, modality: str) -> bool:
        """LP-FT only for images: measured side by side (`python -m bench --cases vision,text`), it left the
        image fine-tune's accuracy as it was and reached it sooner, but the MiniLM fine-tune on rotten-tomatoes
        fell from 0.803 to 0.733 (chance after its first epoch), so texts keep the random head. That collapse
        was the probe dividing by a near-zero feature spread (fixed in `logistic.standardisation`); retried with
        the fix, LP-FT on texts no longer collapses but did not help either (400 per class, 2 epochs: 0.719 vs
        0.744 without; all of the data: 0.756 after the first epoch), so texts still keep the random head."""
        return self.warm_start and modality == "image"

    def frozen_pass_for(self, modality: str) -> bool:
        """Runs the frozen pretrained network over data of this kind once (cached): to solve on, to warm-start
        from (images only), or (distillation) for its teacher's answers."""
        return self.frozen_features or self.teacher or self.warm_starts(modality)

    @property
    def trains(self) -> bool:
        return self.solver != "knn"

    def supports(self, spec: Any) -> bool:
        """Whether this strategy can run with a model spec (duck-typed: `supports_lora`)."""
        return not self.needs_adapters or bool(getattr(spec, "supports_lora", False))


STRATEGIES: tuple[Strategy, ...] = (
    Strategy("scratch", "From scratch", "from scratch",
             "Random start: the same network trained from nothing, every layer learning.",
             "#8c8c8c", pretrained=False, head_lr=2e-3, body_lr_ratio=1.0),
    Strategy("linear_probe", "Linear probe", "linear probe",
             "Keep the pretrained network frozen and train only a new last layer on its features.",
             "#1f77b4", pretrained=True, solver="probe", head_lr=1e-2),
    Strategy("finetune", "Fine-tune", "fine-tune",
             "Start from pretrained weights and train every layer, the pretrained ones more gently (for images, the "
             "new last layer is first fitted on the frozen features).",
             "#ff7f0e", pretrained=True, warm_start=True),
    Strategy("finetune_top", "Fine-tune the last layers", "fine-tuning of the last layers",
             "Start from pretrained weights, keep the first two thirds of the network frozen and train the rest: "
             "general features stay as they are, the specific ones adapt (for images, the new last layer is first "
             "fitted on the frozen features).",
             "#8c564b", pretrained=True, cost=0.6, warm_start=True),
    Strategy("gradual", "Gradual unfreezing", "gradual unfreezing",
             "Train the new last layer first, then unfreeze and gently train the whole network.",
             "#2ca02c", pretrained=True, cost=0.75),
    Strategy("lora", "LoRA adapters", "LoRA adapters",
             "Train small low-rank adapters inside a pretrained transformer (MiniLM, BERT-family, ViT).",
             "#9467bd", pretrained=True, body_lr_ratio=0.5, needs_adapters=True, cost=0.8),
    Strategy("knn", "Nearest neighbours", "nearest neighbours",
             "No training at all: label each example like its most similar training examples, compared by "
             "their pretrained features (a zero-training baseline).",
             "#d62728", pretrained=True, solver="knn", head_lr=0.0),
    Strategy("distill", "Taught by a pretrained model", "distillation",
             "The same network as from scratch, from a random start; it never sees the pretrained weights but "
             "learns from a pretrained model's answers (a linear probe fitted in the same run) as well as from the "
             "labels. When a per-class limit leaves training examples unused, it also learns from the pretrained "
             f"model's answers on up to {TRANSFER_LIMIT} of them without reading their labels, which from scratch "
             "does not get.",
             "#e377c2", pretrained=False, head_lr=2e-3, body_lr_ratio=1.0, teacher=True),
)
_BY_ID = {s.id: s for s in STRATEGIES}
IDS: tuple[str, ...] = tuple(_BY_ID)
OTHER_COLOUR = "#17becf"  # a strategy id this version does not know (an old run's), drawn all the same


def get(strategy_id: str) -> Strategy:
    """The declaration of `strategy_id`; ConfigError naming the known ids otherwise."""
    try:
        return _BY_ID[strategy_id]
    except KeyError:
        raise ConfigError(f"Unknown strategy '{strategy_id}'. Choose one of: {', '.join(IDS)}.") from None


def strategies_for(spec: Any) -> list[Strategy]:
    """The strategies a model supports, in display order."""
    return [s for s in STRATEGIES if s.supports(spec)]


def title(strategy_id: str) -> str:
    """Display title, also for an id this version does not know (an old run's)."""
    return _BY_ID[strategy_id].title if strategy_id in _BY_ID else strategy_id.replace("_", " ").capitalize()


def label(strategy_id: str) -> str:
    """Name inside a sentence ("linear probe"), also for an unknown id."""
    return _BY_ID[strategy_id].label if strategy_id in _BY_ID else strategy_id.replace("_", " ")


def colour(strategy_id: str) -> str:
    return _BY_ID[strategy_id].colour if strategy_id in _BY_ID else OTHER_COLOUR


def is_transfer(strategy_id: str) -> bool:
    """Whether a strategy counts as transfer against from-scratch (an unknown id, an old run's, does)."""
    return _BY_ID[strategy_id].transfer if strategy_id in _BY_ID else strategy_id != "scratch"


def order(strategy_id: str) -> tuple[int, str]:
    """Sort key: registry order, unknown ids last."""
    return (IDS.index(strategy_id) if strategy_id in _BY_ID else len(IDS), strategy_id)


def check_ids(strategy_ids: list[str] | tuple[str, ...]) -> None:
    """ConfigError for the first unknown id or a repeated one."""
    for strategy_id in strategy_ids:
        get(strategy_id)
    if len(set(strategy_ids)) != len(strategy_ids):
        raise ConfigError("A strategy is listed twice.")
