"""Edits and corrections: the one history every room writes its corrections to
(``history.py``: ``ChangeSet``, undo and redo) and the typed shape of each kind of
correction (``corrections.py``). Each room keeps its own editing module
(``clustering/editing.py``, ``faces/editing.py``, ``events/editing.py``)."""
