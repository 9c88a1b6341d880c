"""Running a ``photoclust`` command in the test's process, as the CLI tests do."""
from __future__ import annotations

import json

from photoclust.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``photoclust ARGV``: its exit status, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str):
    """``photoclust ARGV --json``, which must succeed: its JSON."""
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)
