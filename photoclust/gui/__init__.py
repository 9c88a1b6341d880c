"""The PySide6 desktop application: a thin layer over ``photoclust.core``.

Only this package imports Qt. The main window is a shell of pages (``pages/``) that share an
``AppState``; core work runs as ``photoclust.core.jobs.Job`` objects on the one
``workers.JobQueue``; edits go through the core's editing functions off the GUI thread, and
Undo/Redo replay the library's own history by event id (``history``).
"""
from photoclust.gui import _refcount_guard  # noqa: F401 - before any signal is emitted
