"""The shape of the code: layers import only downward, no import cycles, and the engine never needs Streamlit."""

import subprocess
import sys
from pathlib import Path

from tests.support.layers import check

ROOT = Path(__file__).resolve().parents[2]


def test_layers_import_only_downward_and_nothing_imports_in_a_cycle():
    assert [str(v) for v in check(ROOT)] == []


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_check_catches_a_cycle_an_upward_and_a_sideways_import(tmp_path):
    _write(tmp_path, {
        "tlcore/__init__.py": "",
        "tlcore/core/__init__.py": "",
        "tlcore/core/config.py": "def f():\n    from tlcore.train import loop  # hidden in a function: still an edge\n",
        "tlcore/data/__init__.py": "from tlcore.data.split import Split\n",
        "tlcore/data/split.py": "from tlcore.data import report\nfrom tlcore.models import spec\nclass Split: ...\n",
        "tlcore/data/report.py": "from tlcore.data.split import Split\n",
        "tlcore/models/__init__.py": "",
        "tlcore/models/spec.py": "",
        "tlcore/train/__init__.py": "",
        "tlcore/train/loop.py": "from tlcore.core import config\n",
    })
    found = {(v.importer, v.imported, v.why.split(" (")[0].split(":")[0]) for v in check(tmp_path, ("tlcore",))}
    assert ("tlcore.core.config", "tlcore.train.loop", "upward import") in found
    assert ("tlcore.data.split", "tlcore.models.spec", "sideways import") in found
    assert any(why == "import cycle" and {a, b} <= {"tlcore.data.report", "tlcore.data.split"}
               for a, b, why in found)
    assert any(why == "import cycle" and "tlcore.core.config" in (a, b) for a, b, why in found)  # config ↔ loop
    # a submodule importing its package's face is not a cycle: tlcore.data → split → tlcore.data is allowed
    assert not any(why == "import cycle" and "tlcore.data" in (a, b) for a, b, why in found)


def test_no_tlcore_module_imports_streamlit():
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                     for p in (ROOT / "tlcore").rglob("*.py") if p.name != "__main__.py")
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"tlcore pulled in streamlit: {out.stdout}"
