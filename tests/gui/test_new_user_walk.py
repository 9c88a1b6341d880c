"""What a new user tripped over on the walk of 6 Dec 2026 (docs/gui.md), each driven as a user
would see it."""
from __future__ import annotations

from qt_helpers import WaitingJob

from photoclust.core.jobs import Progress


def test_finding_faces_is_named_and_its_bar_starts_from_nothing(window, qtbot):
    """After looking at 195 photos Organize finds faces in them: the status said "Organizing
    photos: 16 of 195" under a full bar (the bar kept the previous stage's end)."""
    job = WaitingJob()
    worker = window.run_job(job)
    status = window.job_status
    qtbot.waitUntil(lambda: status.worker is worker, timeout=10000)
    status._on_progress(Progress(60, 195, "a.jpg", "index", 40, 195))
    status._on_progress(Progress(195, 195, "b.jpg", "embed"))
    assert (status.bar.value(), status.bar.maximum()) == (195, 195)
    status._on_progress(Progress(0, 3, "choosing k", "cluster"))
    status._on_progress(Progress(16, 195, "4 faces in 16 photos", "faces"))
    assert status.label.toolTip().startswith("Finding faces: 16 of 195")
    assert (status.bar.value(), status.bar.maximum()) == (16, 195)
    status._on_progress(Progress(1, 3, "places", "events"))
    assert status.label.toolTip() == "Grouping events and places…"
    assert status.bar.maximum() == 0  # busy: its three steps are no count of photos
    with qtbot.waitSignal(worker.finished, timeout=10000):
        job.done.set()


def test_an_edit_message_has_the_whole_bar_while_no_job_runs(window, qtbot):
    """At 1024x700 "Undone: merged communication into golf …" and "Renamed event "Stockholm,
    6–8 May 202…" were cut at a third of the bar, the rest of it empty (the job status kept its
    room while idle)."""
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.job_status.worker is None, timeout=10000)
    text = "Undone: merged communication into golf ball / web site (67 photos)"
    window.show_status(text, 5000)
    assert window.statusBar().currentMessage() == text
    assert not window.job_status.isVisible()
    job = WaitingJob()
    worker = window.run_job(job)  # a job shows its progress in the same place as before
    qtbot.waitUntil(lambda: window.job_status.isVisible(), timeout=10000)
    assert window.job_status.geometry().right() >= window.statusBar().width() - 30
    long = text + " and a great deal more that will not fit left of the job's progress"
    window.show_status(long, 5000)
    shown = window.statusBar().currentMessage()
    assert shown.endswith("…") and window.statusBar().toolTip() == long
    with qtbot.waitSignal(worker.finished, timeout=10000):
        job.done.set()
    # How the job ended stays in its place for a while.
    qtbot.waitUntil(lambda: window.job_status.label.text().startswith("Organizing photos: "),
                    timeout=5000)
    assert window.job_status.isVisible()  # how the job ended stays in its place for a while


def test_answering_no_says_its_cluster_for_one_photo(gui_library):
    """Review's No said "Removed 1 photo from their cluster"."""
    from photoclust.core.clustering import editing

    a, b = gui_library.cluster_ids[:2]
    one = editing.remove_photos_from_cluster(gui_library.library, gui_library.photo_ids[a][:1])
    assert one.description == "Removed 1 photo from its cluster"
    two = editing.remove_photos_from_cluster(
        gui_library.library, [gui_library.photo_ids[a][1], gui_library.photo_ids[b][0]])
    assert two.description == "Removed 2 photos from their clusters"


def test_no_results_names_people_and_places_among_what_to_type():
    """"Stockholm 2024" found nothing, and the hint listed everything one can search for but
    the people and places the same search box finds."""
    from photoclust.core.search.finder import search_hint

    hint = search_hint("stockholm 2024")
    assert "a person's name" in hint and "a place" in hint
    assert "a person's name" in search_hint("")


def test_the_xmp_choice_says_people_and_events_are_written_too(window, qtbot):
    """The sidecars hold the named people, their faces and the event too, but the box said
    "with the cluster name as keyword"."""
    window.export_action.trigger()
    dialog = window.export_dialog
    qtbot.waitExposed(dialog)
    text = dialog.xmp_check.text()
    assert "people" in text and "event" in text
    assert dialog.xmp_check.width() >= dialog.xmp_check.sizeHint().width()  # not cut
    dialog.close()


def test_the_preview_says_a_time_read_from_the_file_is_a_guess(qtbot, library, tmp_path):
    """135 photos without a date in them showed "Taken 2026-12-06 19:25": the day they were
    copied, said like a date the camera wrote."""
    import html
    from datetime import datetime

    from conftest import build_library
    from sqlalchemy import insert, update

    from photoclust.core.library.models import Photo, PhotoWhenWhere
    from photoclust.gui.views.preview import PreviewPane

    built = build_library(library, tmp_path / "photos", sizes=(2,))
    copied, shot = built.photo_ids[built.cluster_ids[0]]
    with library.session() as s:
        for pid, source in ((copied, "file time"), (shot, "exif")):
            s.execute(update(Photo).where(Photo.id == pid)
                      .values(taken_at=datetime(2026, 12, 6, 19, 25)))
            s.execute(insert(PhotoWhenWhere), [{"photo_id": pid, "taken_source": source,
                                                "time_shift_s": 0}])
    pane = PreviewPane(library)
    qtbot.addWidget(pane)
    pane.show_photo(copied)
    text = html.unescape(pane.metadata_label.text())
    assert "2026-12-06 19:25 (the file's date, a guess" in text
    assert text.count("Taken") == 1
    assert text.index("Taken") < text.index("Cluster")  # in its place
    pane.show_photo(shot)
    text = html.unescape(pane.metadata_label.text())
    assert "2026-12-06 19:25" in text and "guess" not in text


def test_organize_says_the_faces_it_found_or_why_it_found_none(window, gui_library):
    """"Done: 57 photos in 4 groups." said nothing of the 57 faces found; a face model that
    failed was only in the log, and the People page stayed empty without a word why."""
    from photoclust.core.clustering.job import ClusterResult
    from photoclust.core.faces.job import FacesResult
    from photoclust.core.organize.pipeline import OrganizeResult

    first = ClusterResult(run_id=1, model="m", method="kmeans", k=3, k_auto=False, n=13,
                          seconds=0.1, mode="first")
    found = OrganizeResult(None, None, first, FacesResult(photos=13, with_faces=12, faces=14),
                           None)
    assert window.library_summary(gui_library.library, found) == \
        "Done: 13 photos in 3 groups. 14 faces found in 12 photos."
    failed = OrganizeResult(None, None, first,
                            FacesResult(error="The face model file is damaged."), None)
    assert window.library_summary(gui_library.library, failed) == \
        "Done: 13 photos in 3 groups. Faces were not searched: The face model file is damaged."
    none = OrganizeResult(None, None, first, FacesResult(photos=13), None)
    assert window.library_summary(gui_library.library, none) == "Done: 13 photos in 3 groups."
