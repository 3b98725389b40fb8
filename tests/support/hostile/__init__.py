"""The hostile-input corpus: every case is built from code in a temporary folder (see `build.py`)."""

from .archives import CASES as ARCHIVE_CASES
from .bombs import CASES as BOMB_CASES
from .build import Built, Case, Upload
from .images import CASES as IMAGE_CASES
from .tables import CASES as TABLE_CASES

CASES: list[Case] = [*ARCHIVE_CASES, *IMAGE_CASES, *TABLE_CASES, *BOMB_CASES]
assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"

__all__ = ["CASES", "Built", "Case", "Upload"]
