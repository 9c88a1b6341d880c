"""A small dialog to choose a cluster by typing part of its name (review's "No, it belongs in…",
search's "Move to cluster…"), or a person (review's "No, it is…", ``PersonPicker``: the people
and "A new person"). Window-modal but not blocking: ``picked(id)`` when the user presses Enter
or double-clicks one (``None`` for a new person; a name typed that no one has is kept in
``PersonPicker.new_name`` for it)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import AbstractSet

from PySide6.QtCore import QSortFilterProxyModel, QStringListModel, Qt, Signal
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListView, QVBoxLayout

from photoclust.core.faces.read import list_people
from photoclust.core.library.queries import list_clusters


class _KeepLastRow(QSortFilterProxyModel):
    """A filter that always shows the last row (the picker's "A new person")."""

    def filterAcceptsRow(self, source_row, source_parent) -> bool:  # noqa: N802 - Qt override
        model = self.sourceModel()
        return (model is not None and source_row == model.rowCount() - 1) or \
            super().filterAcceptsRow(source_row, source_parent)


class NamePicker(QDialog):
    """Choose one of ``entries`` (``(id, label)``) by typing part of its label."""

    picked = Signal(object)  # the id chosen

    def __init__(self, entries: Iterable[tuple[int | None, str]], prompt: str, title: str,
                 placeholder: str, parent=None, keep_last: bool = False):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        entries = list(entries)
        self._ids = [i for i, _label in entries]
        names = [label for _i, label in entries]
        self._source = QStringListModel(names, self)
        self.proxy = _KeepLastRow(self) if keep_last else QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self._source)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        label = QLabel(prompt)
        label.setWordWrap(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(placeholder)
        self.filter.setClearButtonEnabled(True)
        self.list = QListView()
        self.list.setModel(self.proxy)
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.filter)
        layout.addWidget(self.list)
        self.filter.textChanged.connect(self._on_filter)
        self.filter.returnPressed.connect(self.accept_current)
        self.list.doubleClicked.connect(lambda _i: self.accept_current())
        self.list.activated.connect(lambda _i: self.accept_current())
        self._on_filter("")
        self.resize(360, 420)

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        if self.proxy.rowCount():
            self.list.setCurrentIndex(self.proxy.index(0, 0))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.filter.hasFocus():
            self.list.keyPressEvent(event)  # arrows move in the list while typing
            return
        super().keyPressEvent(event)

    def ids(self) -> list:
        """The ids the list shows now, in order."""
        return [self._ids[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
                for r in range(self.proxy.rowCount())]

    def accept_current(self) -> None:
        index = self.list.currentIndex()
        if not index.isValid():
            return
        chosen = self._ids[self.proxy.mapToSource(index).row()]
        self.accept()
        self.picked.emit(chosen)


class ClusterPicker(NamePicker):
    def __init__(self, library, prompt: str, exclude: AbstractSet[int] = frozenset(),
                 parent=None):
        clusters = [c for c in list_clusters(library) if c.id not in exclude]
        super().__init__([(c.id, f"{c.name or 'Unnamed'}  ({c.size:,})") for c in clusters],
                         prompt, "Choose a cluster", "Type part of a cluster's name", parent)

    def cluster_ids(self) -> list[int]:
        """The clusters the list shows now, in order."""
        return self.ids()


#: The entry of ``PersonPicker`` that makes a new person (``picked(None)``).
NEW_PERSON_LABEL = "A new person"


class PersonPicker(NamePicker):
    """The people (named first, as the People page lists them) and "A new person" last, always
    shown: with a name typed it reads "A new person named “Mia”", and choosing it keeps the
    name in ``new_name`` (the answer makes the new person with that name)."""

    def __init__(self, library, prompt: str, exclude: AbstractSet[int] = frozenset(),
                 parent=None):
        self.new_name = ""
        people = [p for p in list_people(library) if p.id not in exclude]
        entries: list[tuple[int | None, str]] = [
            (p.id, f"{p.label}  ({p.faces:,} face{'s' * (p.faces != 1)})") for p in people]
        super().__init__([*entries, (None, NEW_PERSON_LABEL)], prompt, "Choose a person",
                         "Type part of a name", parent, keep_last=True)

    def _on_filter(self, text: str) -> None:
        self.new_name = " ".join(text.split())
        source = self.proxy.sourceModel()
        last = source.index(source.rowCount() - 1, 0)
        source.setData(last, f"{NEW_PERSON_LABEL} named “{self.new_name}”" if self.new_name
                       else NEW_PERSON_LABEL)
        super()._on_filter(text)
