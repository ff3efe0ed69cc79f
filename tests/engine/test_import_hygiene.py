"""The engine is a plain library: importing it never pulls in Textual, Rich or the TUI."""
import subprocess
import sys

MODULES = [
    "engine", "engine.backup", "engine.check", "engine.folders.restore", "engine.folders.backup",
    "engine.repository.repo",
]


def test_engine_imports_no_ui():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"engine imported UI modules: {out.stdout}"
