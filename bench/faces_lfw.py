"""Where the face benches find the labelled face set ``faces_lfw`` (one folder per person):
``$PHOTOCLUST_DATASETS``, else the shared datasets folder beside the checkout."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("PHOTOCLUST_DATASETS") or REPO.parent / "shared" / "datasets")


def faces_lfw() -> Path | None:
    """The ``faces_lfw`` folder; ``None``, said on stdout, where there is none."""
    root = DATASETS / "faces_lfw"
    if not root.is_dir():
        print(f"no faces_lfw in {DATASETS}")
        return None
    return root
