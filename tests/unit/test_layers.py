"""The layer contracts of pyproject.toml hold: the core never imports Qt or the window, and
what the window uses before TensorFlow loads never imports it (import-linter checks both,
indirect and function-level imports included)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    # In a subprocess: import-linter puts the working folder on sys.path.
    lint = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports; "
                           "raise SystemExit(lint_imports(no_cache=True))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-2000:]
    assert "3 kept, 0 broken" in lint.stdout
