"""Data-efficiency studies: accuracy as a function of training examples per class, scratch versus
transfer, over several seeds, always tested on the same held-out examples."""

from tlcore.experiments.study.plan import (
                                           ALL,
                                           DEFAULT_PER_CLASS,
                                           Cell,
                                           StudySpec,
                                           allowed_per_class,
                                           parse_per_class,
                                           submit_study,
)
from tlcore.experiments.summary import per_class_label

__all__ = ["ALL", "DEFAULT_PER_CLASS", "Cell", "StudySpec", "allowed_per_class", "parse_per_class",
           "per_class_label", "submit_study"]
