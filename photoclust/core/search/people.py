"""People in a search: ``Anna``, ``Anna beach 2023``, ``Anna Bob`` (photos with both).

Names of people (docs/people.md) are taken out of the query first; their photos are the hits,
or, with other words left, the hits of those words among their photos."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from photoclust.core.faces.read import people_in_text, photo_rows, photos_of_people
from photoclust.core.library import Library

if TYPE_CHECKING:
    from photoclust.core.search.finder import SearchHit

#: Hits of the other words looked through for a person's photos.
WIDE_LIMIT = 100_000


def search_people(library: Library, text: str, limit: int, model: str | None,
                  search: Callable[..., list[SearchHit]]) -> list[SearchHit] | None:
    """The hits when ``text`` names people, else ``None`` (an ordinary search)."""
    from photoclust.core.search.finder import SearchHit

    people, rest = people_in_text(library, text)
    if not people:
        return None
    photos = photos_of_people(library, [pid for pid, _label in people])
    names = " and ".join(label for _pid, label in people)
    if not rest.strip():
        return [SearchHit(pid, path, 1.0, cid, f"person: {names}")
                for pid, path, cid in photo_rows(library, photos)[:limit]]
    wanted = set(photos)
    return [SearchHit(hit.id, hit.path, hit.score, hit.cluster_id,
                      f"person: {names}, {hit.why}" if hit.why else f"person: {names}")
            for hit in search(library, rest, limit=WIDE_LIMIT, model=model)
            if hit.id in wanted][:limit]
