"""The cached dataset features that ``bench/cache_features.py`` writes, one set at a time."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np


def load_cached_sets(features_dir: Path, names: list[str]) -> Iterator[tuple[str, np.ndarray,
                                                                               np.ndarray]]:
    """``(name, X float32, labels)`` for each set whose features exist; a set without them gets a
    table row saying so (run ``bench/cache_features.py`` first), so a table never silently
    shrinks."""
    for name in names:
        path = features_dir / f"{name}.npz"
        if not path.exists():
            print(f"| {name} | (no features at {path}: run bench/cache_features.py) |")
            continue
        data = np.load(path)
        yield name, data["X"].astype(np.float32), data["labels"]
