"""Every file or folder of the repository that the docs name exists: docs/*.md and README.md
name paths in backticks (``core/clustering/editing.py``, ``gui/pages/``,
``tests/cli/test_crash.py``) and
in links (``[search.md](search.md)``); a renamed or deleted file must take its mentions along."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]

#: Endings of files that belong to the repository (not a user's photos or a command's output).
REPO_SUFFIXES = (".py", ".md", ".toml", ".spec", ".qss", ".svg", ".desktop", ".xml", ".cfg")
#: First parts of a path that say it is in the repository.
REPO_ROOTS = {"photoclust", "core", "gui", "cli", "research", "tests", "docs", "bench", "tools",
              "resources", "packaging", "library", "embedding", "clustering", "learning",
              "search", "pages", "views", "models", "dialogs"}

_CODE = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_WORD = re.compile(r"[\w./-]+")
_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def _repo_entries() -> tuple[set[str], set[str]]:
    files, folders = set(), set()
    skip = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if skip & set(rel.parts) or any(p.endswith(".egg-info") for p in rel.parts):
            continue
        (folders if path.is_dir() else files).add(rel.as_posix())
    return files, folders


def _candidates(text: str) -> set[str]:
    """Backticked tokens and link targets that look like repository paths."""
    found = set()
    for block in _FENCE.findall(text):  # a tree of the house names files in plain words
        for word in (w.rstrip(".,:;") for w in _WORD.findall(block)):
            if word.endswith(REPO_SUFFIXES) and not word.startswith(".") and \
                    ("/" not in word or word.split("/")[0] in REPO_ROOTS):
                found.add(word)  # not ".desktop" in words, nor "out/clusters.md" written
    text = _FENCE.sub("", text)
    for token in _CODE.findall(text):
        token = token.strip().split(" ")[0].split("::")[0].rstrip(":,.")
        if ":" in token:
            token = token.split(":")[0]
        if not token.startswith(".."):  # in code, "../x" is an example of a name, not a link
            found.add(token)
    found.update(_LINK.findall(text))
    out = set()
    for token in found:
        if not token or any(c in token for c in "<>*{}$=()[]'\"|\\") or \
                token.startswith(("/", "~", "http", "-", ".venv")):
            continue
        clean = token[2:] if token.startswith("./") else token
        first = clean.split("/")[0]
        if clean.endswith(REPO_SUFFIXES) or ("/" in clean and first in REPO_ROOTS | {".."}):
            out.add(token)
    return out


def _exists(token: str, doc: Path, files: set[str], folders: set[str]) -> bool:
    if token.startswith(("./", "../")):
        rel = (doc.parent / token).resolve()
        return rel.exists()
    path = token.rstrip("/")
    entries = folders if token.endswith("/") else files | folders
    if path in entries or (doc.parent / path).exists():
        return True
    # Paths are named from the package ("core/clustering/editing.py"), a package
    # ("pages/actions.py") or
    # by a module's name alone ("main_window.py"): some entry must end with it. A module's
    # attribute ("core/library/queries.photo_details") names the module.
    module, _, attribute = path.rpartition(".")
    candidates = [path] + ([module + ".py"] if module and "/" not in attribute
                           and not path.endswith(REPO_SUFFIXES) else [])
    return any(entry == c or entry.endswith("/" + c) for c in candidates for entry in entries)


def test_every_path_the_docs_name_exists():
    files, folders = _repo_entries()
    missing = []
    for doc in DOCS:
        for token in sorted(_candidates(doc.read_text(encoding="utf-8"))):
            if not _exists(token, doc, files, folders):
                missing.append(f"{doc.relative_to(ROOT)}: {token}")
    assert not missing, "paths named in the docs that do not exist:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_path(tmp_path):
    files, folders = _repo_entries()
    doc = ROOT / "docs" / "architecture.md"
    text = ("see `gui/undo_commands.py`, `pages/legacy.py` and [x](nowhere.md); "
            "`core/clustering/editing.py`\n```\n  gui/   workers.py (the bridge), gone.py\n```\n")
    tokens = _candidates(text)
    assert tokens == {"gui/undo_commands.py", "pages/legacy.py", "nowhere.md",
                      "core/clustering/editing.py", "workers.py", "gone.py"}
    assert [t for t in sorted(tokens) if not _exists(t, doc, files, folders)] == \
        ["gone.py", "gui/undo_commands.py", "nowhere.md", "pages/legacy.py"]
