"""The PySide6 desktop application: a thin layer over ``photoclust.core``.

Only this package imports Qt. Core work runs as ``photoclust.core.jobs.Job`` objects, bridged to
Qt signals by ``workers.JobWorker``; edits go through the core's editing functions, wrapped in
``QUndoCommand``s by ``undo_commands``.
"""
