"""The core must work without Qt: checked, not hoped for."""
import subprocess
import sys
from pathlib import Path

import photoclust

PACKAGE = Path(photoclust.__file__).parent


def test_core_modules_never_import_qt():
    offenders = []
    for py in (PACKAGE / "core").rglob("*.py"):
        for n, line in enumerate(py.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and ("PySide6" in stripped
                                                              or "photoclust.gui" in stripped
                                                              or "photoclust.cli" in stripped):
                offenders.append(f"{py.relative_to(PACKAGE)}:{n}: {stripped}")
    assert not offenders, "core imports Qt/gui/cli:\n" + "\n".join(offenders)


def test_core_imports_with_qt_blocked():
    """Import every core module in a fresh interpreter where importing PySide6 fails."""
    modules = sorted(
        "photoclust." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for p in (PACKAGE / "core").rglob("*.py")
    )
    modules = [m.removesuffix(".__init__") for m in modules]
    code = (
        "import sys, importlib\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'PySide6':\n"
        "            raise ImportError('Qt is blocked in core')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "assert 'PySide6' not in sys.modules\n"
        "research = [m for m in sys.modules if m.startswith('photoclust.research')]\n"
        "assert not research, f'the core imported research code: {research}'\n"
    )
    _passes_in_a_fresh_python(code)


def test_building_the_command_line_loads_no_heavy_library():
    """`photoclust --help` and `status` must start fast: torch, scikit-learn and Qt load only
    in the commands that use them."""
    code = (
        "import sys, photoclust.cli\n"
        "photoclust.cli.build_parser()\n"
        "heavy = [m for m in ('torch', 'sklearn', 'PySide6', 'scipy', 'photoclust.research')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    _passes_in_a_fresh_python(code)


def _passes_in_a_fresh_python(code: str) -> None:
    """``code`` runs without error in a new Python process (nothing imported yet)."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
