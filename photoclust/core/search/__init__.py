"""Finding photos by what they show, by their names, dates and cameras, and by likeness.

The API the CLI and the app use: ``search_photos``, ``similar_photos``, ``search_hint``,
``SearchHit`` and ``SearchError``. How it works and how well: docs/search.md.
"""
from photoclust.core.search.finder import (
    SearchError,
    SearchHit,
    search_hint,
    search_photos,
    similar_photos,
)

__all__ = ["SearchError", "SearchHit", "search_hint", "search_photos", "similar_photos"]
