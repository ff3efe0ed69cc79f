"""The engine is a plain library: importing it never pulls in Textual, Rich or the TUI.

Two checks. At run time: every engine module (found by walking the package, so a new
module is covered the day it is added) is imported in a fresh interpreter, which then must
hold no ``textual``, ``rich`` or ``tui`` module. Statically: import-linter's forbidden
contract in pyproject.toml, which also sees imports inside functions that the first check
never runs.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI_PACKAGES = ("textual", "rich", "tui")

IMPORT_EVERY_ENGINE_MODULE = f"""
import json, pkgutil, sys
import engine

failed = []
names = ["engine"] + [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.",
                                                             onerror=failed.append)]
for name in names:
    __import__(name)
ui = sorted(m for m in sys.modules if m.split(".")[0] in {UI_PACKAGES!r})
print(json.dumps([names, failed, ui]))
"""


def _engine_modules_on_disk() -> set[str]:
    names = set()
    for path in (ROOT / "engine").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_importing_every_engine_module_loads_no_ui():
    out = subprocess.run([sys.executable, "-c", IMPORT_EVERY_ENGINE_MODULE], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    names, failed, ui = json.loads(out.stdout)
    assert failed == []
    assert set(names) == _engine_modules_on_disk()  # the walk reached every module
    assert len(names) > 45
    assert ui == [], f"importing the engine loaded UI modules: {ui}"


def _lint_imports(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
               " sys.exit(lint_imports_command())", "--no-cache"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8")


def test_the_import_linter_contract_is_kept():
    out = _lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "engine imports neither tui nor textual nor rich KEPT" in out.stdout
    assert "1 kept, 0 broken" in out.stdout


def test_the_import_linter_contract_catches_a_lazy_ui_import(tmp_path):
    """A copy of the engine with one import of Rich inside a function (which the run-time
    check above would never execute) breaks the contract."""
    shutil.copytree(ROOT / "engine", tmp_path / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tui").mkdir()
    (tmp_path / "tui" / "__init__.py").write_text("")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "engine" / "sneaky.py").write_text(
        '"""Prints a table."""\n\n\ndef show() -> None:\n    from rich.console import Console\n\n'
        '    Console().print("hello")\n')
    out = _lint_imports(tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert out.returncode != 0, out.stdout + out.stderr
    assert "BROKEN" in out.stdout
    assert "engine.sneaky -> rich" in out.stdout
