"""Every chart of the product in one place: pure functions from pandas frames to plotly figures, used by the
app's pages and by the self-contained HTML report alike. Each strategy keeps its registry colour everywhere,
and user text (class and file names) is escaped, because plotly renders HTML tags in labels."""

from tlcore.experiments.figures.comparison import (
                                                   confusion_figure,
                                                   cost_figure,
                                                   curves_figure,
                                                   final_accuracy_figure,
                                                   per_class_gain_figure,
)
from tlcore.experiments.figures.dataset import class_balance_figure
from tlcore.experiments.figures.layers import layer_curve_figure
from tlcore.experiments.figures.maps import feature_map_figure
from tlcore.experiments.figures.runs import live_curve_figure
from tlcore.experiments.figures.study import accuracy_vs_data, per_class_figure
from tlcore.experiments.figures.study import cost_figure as study_cost_figure

__all__ = ["accuracy_vs_data", "class_balance_figure", "confusion_figure", "cost_figure", "curves_figure",
           "feature_map_figure", "final_accuracy_figure", "layer_curve_figure", "live_curve_figure", "per_class_figure",
           "per_class_gain_figure", "study_cost_figure"]
