"""The lines a photo's details gain from people and places: who is in it, where it was taken
and the event it belongs to (read with the details, one small query each)."""
from __future__ import annotations

from photoclust.core.events.queries import event_info, when_where
from photoclust.core.faces.read import people_in_photo
from photoclust.core.library import Library
from photoclust.core.library.capture_time import FILE_TIME


def who_and_where_rows(library: Library, photo_id: int) -> list[tuple[str, str]]:
    """``[("People", "Ana, Person 4"), ("Place", "Lisbon, Portugal"), ("Event", "...")]``,
    each only when known; ``("Taken", "... a guess ...")`` when the time is the file's."""
    rows = []
    people = people_in_photo(library, photo_id)
    if people:
        rows.append(("People", ", ".join(p.label for p in people)))
    where = when_where(library, [photo_id]).get(photo_id)
    if where is not None and where.taken and where.taken_source == FILE_TIME:
        # Replaces the details' "Taken": a copied photo's date is the day it was copied.
        rows.append(("Taken", f"{where.taken[:16].replace('T', ' ')} (the file's date, "
                              "a guess: the photo has none)"))
    if where is not None and where.place:
        rows.append(("Place", where.place))
    if where is not None and where.event_id is not None:
        event = event_info(library, where.event_id)
        if event is not None and event.name:
            rows.append(("Event", event.name))
    return rows
