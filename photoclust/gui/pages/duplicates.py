"""The duplicates page: exact copies, near duplicates and bursts, and the copy of each group that
stands for it in albums.

On the left, the groups (filter: all, exact, near, bursts), each with the photo that stands for it;
on the right, the copies of the current group side by side with their pixel size (file size and
sharpness in the tooltip), the suggested copy (largest, then sharpest) and the chosen one marked.
K keeps the current copy in albums, U uses the suggestion, A keeps all copies (forgets the
choice). The choice is stored in the library (``core.export.duplicates_choice``) and an export
leaves the other copies out. photoclust never deletes a file: the copies stay in their folders and
clusters. Groups are found off the GUI thread (``core.export.duplicates_choice.DuplicatesJob``).

The shell registers it like every page: ``DuplicatesPage(state)`` in its page stack under
``DuplicatesPage.name``; ``actions()`` go in its toolbar, ``view_actions()`` (look again) in its
View menu. Enter or a double-click on a copy opens it
in the viewer (``back="duplicates"``).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from photoclust.core.export.duplicates_choice import (
    DuplicatesJob,
    GroupForReview,
    choose,
    forget,
    photos_key,
)
from photoclust.core.jobs import Job, JobContext, Progress
from photoclust.core.library.viewing import file_size_text
from photoclust.gui.models.photo_refs import PhotoRefModel, PhotoStrip, RefRow
from photoclust.gui.models.thumbnails import ThumbnailLoader
from photoclust.gui.pages.actions import LiveWhileShown, page_action
from photoclust.gui.pages.base import JobPage
from photoclust.gui.pages.widgets import action_button, busy_panel, message_label

COPY_THUMB = 200
GROUP_ICON = QSize(56, 56)
KIND_WORDS = {"exact": "Exact copies", "near": "Near duplicates", "burst": "Burst"}
FILTERS = (("All groups", None), ("Exact copies", "exact"), ("Near duplicates", "near"),
           ("Bursts", "burst"))


def group_text(g: GroupForReview) -> str:
    kept = "chosen" if g.chosen is not None else "not chosen yet"
    return f"{KIND_WORDS.get(g.kind, g.kind)} · {len(g.copies)} photos\n{kept}"


def copy_caption(g: GroupForReview, copy) -> str:
    marks = []
    if g.chosen == copy.id:
        marks.append("★ in albums")
    elif g.chosen is None and g.suggested == copy.id:
        marks.append("suggested")
    size = f"{copy.width}×{copy.height}" if copy.width and copy.height else "size unknown"
    return " · ".join([*marks, size])


def copy_tooltip(copy) -> str:
    sharp = f"{copy.sharpness:,.0f}" if copy.sharpness is not None else "unreadable"
    return (f"{copy.path}\n{file_size_text(copy.file_size)}; sharpness {sharp} "
            "(higher is sharper)")


class _GroupModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.groups: list[GroupForReview] = []
        thumbnails.loaded.connect(lambda _h: self._thumbnails_loaded())

    def set_groups(self, groups: list[GroupForReview]) -> None:
        self.beginResetModel()
        self.groups = list(groups)
        self.endResetModel()

    def _thumbnails_loaded(self) -> None:
        if self.rowCount():
            self.dataChanged.emit(self.index(0), self.index(self.rowCount() - 1),
                                  [Qt.ItemDataRole.DecorationRole])

    def changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row), self.index(row))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()  # noqa: N802,B008
                 ) -> int:
        return 0 if parent.isValid() else len(self.groups)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.groups):
            return None
        g = self.groups[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return group_text(g)
        if role == Qt.ItemDataRole.DecorationRole:
            keep = g.chosen if g.chosen is not None else g.suggested
            copy = next(c for c in g.copies if c.id == keep)
            return self.thumbnails.image_at(copy.content_hash, copy.path, GROUP_ICON)
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(Path(c.path).name for c in g.copies)
        return None


class _KeyedGroupsJob(DuplicatesJob):
    """The groups and the ``photos_key`` they were found for, both read on the worker."""

    def run(self, ctx: JobContext):
        key = photos_key(self.library)
        return key, super().run(ctx)


class _PhotosKeyJob(Job[tuple]):
    """Whether photos were added or went missing since the groups were found (one query, but
    on the worker: the page never reads the library on the GUI thread)."""

    title = "Checking for new photos"

    def __init__(self, library):
        self.library = library

    def run(self, ctx: JobContext) -> tuple:
        return photos_key(self.library)


class DuplicatesPage(LiveWhileShown, JobPage):
    name = "duplicates"
    title = "Duplicates"
    failed_text = "Duplicates could not be looked for: {error}"
    stopped_text = "Stopped. Press F5 to look for duplicates again."

    groupsReady = Signal()
    choiceSaved = Signal(int)  # the photo chosen for its group (or -1: the choice was dropped)

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        self.all_groups: list[GroupForReview] | None = None
        self._computed_for: tuple[int, int] | None = None  # photos_key the groups were found for
        self.checks_pending = 0  # queued checks whether photos were added or went missing
        self.thumbnails = ThumbnailLoader(state.library, icon_size=COPY_THUMB, parent=self)

        title = QLabel("Duplicates")
        title.setObjectName("paneTitle")
        self.summary = QLabel()
        self.filter = QComboBox()
        for text, kind in FILTERS:
            self.filter.addItem(text, kind)
        self.filter.setToolTip("Show one kind of group")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addWidget(self.summary, 1)
        header.addWidget(self.filter)

        self.group_model = _GroupModel(self.thumbnails, self)
        self.group_list = QListView()
        self.group_list.setObjectName("duplicateGroups")
        self.group_list.setModel(self.group_model)
        self.group_list.setIconSize(GROUP_ICON)
        self.group_list.setSpacing(2)
        self.group_list.setMinimumWidth(220)
        self.copy_model = PhotoRefModel(self.thumbnails, self)
        self.copies = PhotoStrip(self.copy_model, COPY_THUMB)
        self.copies.setObjectName("duplicateCopies")
        self.copies.setGridSize(QSize(COPY_THUMB + 56, COPY_THUMB + 34))
        self.group_title = QLabel()
        self.group_title.setObjectName("paneTitle")
        self.group_title.setWordWrap(True)

        a = page_action
        self.keep_action = a(self, "Keep in albums", ["K"], self.keep_current,
                             "The selected copy stands for the group in albums and exports")
        self.suggest_action = a(self, "Use suggestion", ["U"], self.keep_suggested,
                                "Keep the largest, sharpest copy in albums")
        self.all_action = a(self, "Keep all", ["A"], self.keep_all,
                            "Every copy goes to the albums (forget the choice)")
        self.refresh_action = a(self, "Look again", ["F5"], self.refresh,
                                "Find the duplicate groups afresh")
        buttons = QHBoxLayout()
        for action in (self.keep_action, self.suggest_action, self.all_action):
            buttons.addWidget(action_button(
                action, f"{action.text()}  ({action.shortcut().toString()})"))
        buttons.addStretch(1)
        note = QLabel("photoclust never deletes a file: the other copies stay in their folders "
                      "and clusters; exported albums leave them out.")
        note.setObjectName("hint")
        note.setWordWrap(True)

        right = QWidget()
        r = QVBoxLayout(right)
        r.setContentsMargins(6, 0, 0, 0)
        r.addWidget(self.group_title)
        r.addWidget(self.copies, 1)
        r.addLayout(buttons)
        r.addWidget(note)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.group_list)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 740])

        self.loading, self.loading_label = busy_panel("Comparing photos to find copies…")
        self.message = message_label()
        self.stack = QStackedWidget()
        for w in (self.loading, self.message, self.splitter):
            self.stack.addWidget(w)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)

        self.filter.currentIndexChanged.connect(lambda _i: self._apply_filter())
        self.group_list.selectionModel().currentChanged.connect(
            lambda current, _prev: self._show_group(current.row()))
        self.copies.selectionModel().currentChanged.connect(lambda *_: self._update_actions())
        self.copies.photoActivated.connect(
            lambda pid: self.state.show_page("viewer", photo_id=pid,
                                             photo_ids=self.copy_model.photo_ids(),
                                             back="duplicates"))
        self._show()
        self.set_actions_live(self.isVisible())

    def actions(self) -> list[QAction]:
        return [self.keep_action, self.suggest_action, self.all_action]

    def view_actions(self) -> list[QAction]:
        return [self.refresh_action]

    # --- page interface -----------------------------------------------------------------------
    def activate(self, **_kwargs) -> None:
        # Groups depend on which photos there are, not on clusters: edits keep them valid, new
        # or vanished photos do not.
        if not self.job_running():
            if self.all_groups is None:
                self.refresh()
            else:  # each activation checks afresh: a check queued earlier may predate a change
                self.checks_pending += 1
                self.state.run_job(_PhotosKeyJob(self.state.library), self._on_photos_key,
                                   on_failed=self._on_check_ended,
                                   on_cancelled=self._on_check_ended)
        self.group_list.setFocus()

    def _on_photos_key(self, key: object) -> None:
        self.checks_pending -= 1
        if key != self._computed_for and not self.job_running():
            self.refresh()

    def _on_check_ended(self, *_args) -> None:
        self.checks_pending -= 1

    def refresh(self) -> None:
        if self.start_job(_KeyedGroupsJob(self.state.library), self._on_groups):
            self._show()

    def job_progressed(self, progress: Progress) -> None:
        p = progress
        self.loading_label.setText(
            f"{p.message}: {p.done:,} of {p.total:,} groups…" if p.message and p.total > 1
            else "Comparing photos to find copies…")

    def _on_groups(self, keyed: tuple[tuple, list[GroupForReview]]) -> None:
        self._computed_for, groups = keyed
        self.all_groups = groups
        self._apply_filter()
        self.groupsReady.emit()

    def job_failed(self, error) -> None:
        self._computed_for = None
        super().job_failed(error)

    def job_cancelled(self) -> None:
        self._computed_for = None
        super().job_cancelled()

    def show_message(self, text: str) -> None:
        self._show(text)

    # --- showing ------------------------------------------------------------------------------
    def _apply_filter(self) -> None:
        kind = self.filter.currentData()
        groups = [g for g in self.all_groups or [] if kind is None or g.kind == kind]
        self.group_model.set_groups(groups)
        if groups:
            self.group_list.setCurrentIndex(self.group_model.index(0))
        self._show()

    def _show(self, message: str | None = None) -> None:
        counts: dict[str, int] = {}
        for g in self.all_groups or []:
            counts[g.kind] = counts.get(g.kind, 0) + 1
        self.summary.setText("  ·  ".join(f"{KIND_WORDS[k]}: {n:,}" for k, n in counts.items()
                                          if k in KIND_WORDS))
        if self.job_running():
            self.stack.setCurrentWidget(self.loading)
        elif message is not None:
            self.message.setText(message)
            self.stack.setCurrentWidget(self.message)
        elif self.all_groups is None:
            self.message.setText("Press F5 to look for duplicates.")
            self.stack.setCurrentWidget(self.message)
        elif not self.all_groups:
            self.message.setText("No duplicates: no two photos of the library are copies of "
                                 "each other or shots of the same moment.")
            self.stack.setCurrentWidget(self.message)
        else:
            self.stack.setCurrentWidget(self.splitter)
            if not self.group_model.rowCount():
                self._show_group(-1)
        self._update_actions()

    def current_group(self) -> GroupForReview | None:
        row = self.group_list.currentIndex().row()
        return self.group_model.groups[row] if 0 <= row < self.group_model.rowCount() else None

    def _show_group(self, row: int) -> None:
        if not 0 <= row < self.group_model.rowCount():
            self.copy_model.set_rows([])
            self.group_title.setText("No group of this kind.")
            self._update_actions()
            return
        g = self.group_model.groups[row]
        self.copy_model.set_rows(RefRow(c.id, c.content_hash, c.path, copy_caption(g, c),
                                        copy_tooltip(c)) for c in g.copies)
        similar = "" if g.kind == "exact" else f", similarity {g.similarity:.2f} or more"
        self.group_title.setText(f"{KIND_WORDS.get(g.kind, g.kind)}: {len(g.copies)} photos"
                                 f"{similar}")
        keep = g.chosen if g.chosen is not None else g.suggested
        self.copies.setCurrentIndex(self.copy_model.index(self.copy_model.row_of(keep)))
        self._update_actions()

    def _update_actions(self) -> None:
        g = self.current_group()
        shown = self.stack.currentWidget() is self.splitter and g is not None
        self.keep_action.setEnabled(shown and self.copies.current_photo_id() is not None)
        self.suggest_action.setEnabled(shown and g is not None and g.chosen != g.suggested)
        self.all_action.setEnabled(shown and g is not None and g.chosen is not None)
        self.refresh_action.setEnabled(not self.job_running())

    # --- choosing -----------------------------------------------------------------------------
    def keep_current(self) -> None:
        photo_id = self.copies.current_photo_id()
        if photo_id is not None:
            self._save(photo_id)

    def keep_suggested(self) -> None:
        g = self.current_group()
        if g is not None:
            self._save(g.suggested)

    def keep_all(self) -> None:
        self._save(None)

    def _save(self, photo_id: int | None) -> None:
        g = self.current_group()
        if g is None:
            return
        row = self.group_list.currentIndex().row()
        ids = [c.id for c in g.copies]
        library = self.state.library

        def done(_result) -> None:
            g.chosen = photo_id
            self.group_model.changed(row)
            if self.current_group() is g:
                current = self.copies.current_photo_id()
                self._show_group(row)
                if current is not None:
                    self.copies.setCurrentIndex(self.copy_model.index(
                        self.copy_model.row_of(current)))
            self.choiceSaved.emit(photo_id if photo_id is not None else -1)

        if photo_id is None:
            self.state.run_edit(lambda: forget(library, ids), done,
                                title="Keeping every copy in albums")
        else:
            self.state.run_edit(lambda: choose(library, ids, photo_id), done,
                                title="Choosing the copy for albums")
