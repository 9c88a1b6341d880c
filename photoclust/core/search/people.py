"""People in a search: ``Anna``, ``Anna beach 2023``, ``Anna Bob`` (photos with both).

Names of people (docs/people.md) are taken out of the query first; their photos are the hits,
or, with other words left, the hits of those words among their photos."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from photoclust.core.faces.read import people_in_text, photo_rows, photos_of_people
from photoclust.core.library import Library

#: The search's hit type (``finder.SearchHit``), handed in so this module stays below the finder.
Hit = TypeVar("Hit")

#: Hits of the other words looked through for a person's photos.
WIDE_LIMIT = 100_000


def search_people(library: Library, text: str, limit: int, model: str | None,
                  search: Callable[..., list[Any]], make_hit: Callable[..., Hit]
                  ) -> list[Hit] | None:
    """The hits when ``text`` names people, else ``None`` (an ordinary search). ``search`` is the
    ordinary search (for the other words) and ``make_hit(id, path, score, cluster_id, why)``
    builds a hit."""
    people, rest = people_in_text(library, text)
    if not people:
        return None
    photos = photos_of_people(library, [pid for pid, _label in people])
    names = " and ".join(label for _pid, label in people)
    if not rest.strip():
        return [make_hit(pid, path, 1.0, cid, f"person: {names}")
                for pid, path, cid in photo_rows(library, photos)[:limit]]
    wanted = set(photos)
    return [make_hit(hit.id, hit.path, hit.score, hit.cluster_id,
                      f"person: {names}, {hit.why}" if hit.why else f"person: {names}")
            for hit in search(library, rest, limit=WIDE_LIMIT, model=model)
            if hit.id in wanted][:limit]
