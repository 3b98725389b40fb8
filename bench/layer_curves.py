"""`python -m bench.layer_curves`: the "which layers transfer" curve of a model on built-in datasets, for the README.

For each dataset: the same report the Models page and `python -m tlcore rank --layers MODEL` give (LogME and
leave-one-out k-NN of the frozen features at about six depths, the freeze suggestion, the domain gauge), printed
as one markdown table per dataset, and all curves drawn into one picture (`--png`, matplotlib).

    python -m bench.layer_curves                                   # digits and tux-photos, MobileNetV2
    python -m bench.layer_curves --data digits --model efficientnet_lite0 --png docs/img/layer-curves.png
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tlcore.experiments.layers import LayerReport

os.environ.setdefault("TLAB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.layer_curves", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits,tux-photos", help="comma-separated dataset ids")
    parser.add_argument("--model", default="mobilenet_v2", help="registry model id")
    parser.add_argument("--png", help="also draw the curves into this PNG file")
    return parser.parse_args(argv)


def markdown(report: LayerReport) -> str:
    gauge = f"; distance from the pretraining data: {report.gauge.level} (pretrained head's mean confidence " \
            f"{report.gauge.msp:.2f})" if report.gauge else ""
    lines = [f"**{report.data}**, {report.title}, {report.n_train} training items ({report.seconds:.0f} s){gauge}",
             "", "| depth | features | LogME | k-NN LOO |", "|---|---|---|---|"]
    for d in report.curve:
        lines.append(f"| {d.depth} | {d.dim} | {d.logme:.3f} ± {d.logme_sd:.3f} | {d.knn_loo:.3f} ± {d.knn_sd:.3f} |")
    return "\n".join([*lines, "", f"Recommendation: {report.advice}"])


def draw(reports: list[LayerReport], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    for report in reports:
        depths = range(len(report.curve))
        for ax, key in zip(axes, ("logme", "knn_loo")):
            ax.errorbar(depths, [getattr(d, key) for d in report.curve],
                        yerr=[getattr(d, key.split("_")[0] + "_sd") for d in report.curve], marker="o",
                        capsize=3, label=f"{report.data} ({report.gauge.level if report.gauge else ''})")
            ax.set_xticks(list(depths), [d.depth.split(".")[-1] for d in report.curve])
    axes[0].set(title="LogME (higher: more useful)", xlabel="depth (block index, shallow → deep)")
    axes[1].set(title="Leave-one-out k-NN accuracy (cosine)", xlabel="depth (block index, shallow → deep)")
    axes[1].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"How useful each depth of {reports[0].title} is, frozen", fontsize=10)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from tlcore.experiments.layers import layer_report

    reports = [layer_report(d.strip(), args.model) for d in args.data.split(",")]
    print("\n\n".join(markdown(r) for r in reports))
    if args.png:
        draw(reports, args.png)
        print(f"\nwrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
