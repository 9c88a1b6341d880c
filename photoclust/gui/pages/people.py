"""The People page: the people found in the photos, each with a face, a name and counts; open
one to see their faces and correct them.

On the left, the people: named ones by name, then the unnamed ones (most faces first), and last
"Faces to check" (faces the grouping was unsure of or put in no one). On the right, the faces of
the person opened, cut out of their photos off the GUI thread (``FaceCropLoader``).

Corrections, each one edit of the library's history (``core/faces/editing.py``), so the window's
Undo takes it back:

- type a name and press Enter (names already given are offered as you type; a name another person
  has merges the two, and the page says so before you press Enter);
- Merge people: the people selected on the left become one (the current one keeps its name);
- Move to…  (M), or drag faces onto a person on the left: the faces are that person's;
- Not this person (N): the faces leave the person and never come back to them;
- Not a face (Delete): a false detection is hidden for good.

A double-click on a face opens its photo in the viewer (``back="people"``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QStringListModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from photoclust.core.faces import editing
from photoclust.core.faces.read import (
    FaceCrop,
    FaceRow,
    PersonRow,
    face_crops,
    faces_to_check,
    list_faces,
    list_people,
)
from photoclust.gui.models.face_crops import FaceCropLoader
from photoclust.gui.models.reads import Reads
from photoclust.gui.pages.actions import LiveWhileShown, ReadWhenShown, page_action
from photoclust.gui.pages.base import Page
from photoclust.gui.pages.widgets import action_button, message_label

FACE_SIDE = 112
COVER_SIDE = 56
FACE_IDS_MIME = "application/x-photoclust-face-ids"
TO_CHECK = -1  # the id of the "Faces to check" row


@dataclass(frozen=True)
class PeopleSnapshot:
    people: list[PersonRow]
    to_check: int  # faces to check
    covers: dict[int, FaceCrop]  # person id -> the crop of their cover face
    names: list[str]  # names given, for type-ahead
    to_check_cover: FaceCrop | None = None  # the first face to check


def read_people(library) -> PeopleSnapshot:
    people = list_people(library)
    to_check = faces_to_check(library)
    by_face = face_crops(library, [p.cover_face_id for p in people if p.cover_face_id]
                         + [f.id for f in to_check[:1]])
    return PeopleSnapshot(people, len(to_check),
                          {p.id: by_face[p.cover_face_id] for p in people
                           if p.cover_face_id in by_face},
                          sorted({p.name for p in people if p.source == "user"}, key=str.casefold),
                          by_face.get(to_check[0].id) if to_check else None)


def read_faces(library, person_id: int) -> tuple[list[FaceRow], dict[int, FaceCrop]]:
    faces = faces_to_check(library) if person_id == TO_CHECK else list_faces(library, person_id)
    return faces, face_crops(library, [f.id for f in faces])


def person_text(p: PersonRow) -> str:
    faces = f"{p.faces:,} face{'s' if p.faces != 1 else ''}"
    photos = f"{p.photos:,} photo{'s' if p.photos != 1 else ''}"
    return f"{p.label}\n{faces} in {photos}" if p.faces != p.photos else f"{p.label}\n{photos}"


def _placeholder(side: int) -> QImage:
    image = QImage(side, side, QImage.Format.Format_RGB32)
    image.fill(QColor("#cfd8dc"))
    painter = QPainter(image)
    painter.setPen(QColor("#90a4ae"))
    painter.drawEllipse(side // 4, side // 6, side // 2, side // 2)
    painter.end()
    return image


class PeopleModel(QAbstractListModel):
    """The people, then "Faces to check" when there are any."""

    def __init__(self, crops: FaceCropLoader, parent=None):
        super().__init__(parent)
        self.crops = crops
        self.snapshot = PeopleSnapshot([], 0, {}, [])
        self._blank = _placeholder(COVER_SIDE)
        self._scaled: dict[int, QImage] = {}
        crops.loaded.connect(self._on_loaded)

    def set_snapshot(self, snapshot: PeopleSnapshot) -> None:
        self.beginResetModel()
        self.snapshot = snapshot
        self.endResetModel()

    def ids(self) -> list[int]:
        ids = [p.id for p in self.snapshot.people]
        return [*ids, TO_CHECK] if self.snapshot.to_check else ids

    def person(self, row: int) -> PersonRow | None:
        people = self.snapshot.people
        return people[row] if 0 <= row < len(people) else None

    def row_of(self, person_id: int) -> int:
        ids = self.ids()
        return ids.index(person_id) if person_id in ids else -1

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802,B008 - Qt override
        return 0 if parent.isValid() else len(self.ids())

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = index.row()
        p = self.person(row)
        if role == Qt.ItemDataRole.UserRole:
            return p.id if p is not None else TO_CHECK
        if p is None:
            n = self.snapshot.to_check
            if role == Qt.ItemDataRole.DisplayRole:
                return f"Faces to check\n{n:,} face{'s' if n != 1 else ''} in no one or unsure"
            if role == Qt.ItemDataRole.ToolTipRole:
                return ("Faces the grouping put in no one or was unsure of: move them to a "
                        "person, or mark them as not a face")
            if role == Qt.ItemDataRole.DecorationRole:
                return self._cover(self.snapshot.to_check_cover)
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return person_text(p)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._cover(self.snapshot.covers.get(p.id))
        if role == Qt.ItemDataRole.ToolTipRole:
            named = "named by you" if p.source == "user" else "not named yet: type a name"
            return f"{p.label}: {p.faces:,} faces in {p.photos:,} photos ({named})"
        return None

    def _cover(self, crop: FaceCrop | None) -> QImage:
        """The cover face at the list's icon size (the loader cuts faces at the faces' size)."""
        if crop is None:
            return self._blank
        scaled = self._scaled.get(crop.face_id)
        if scaled is None:
            image = self.crops.image(crop)
            if image is None:
                return self._blank
            scaled = image.scaled(COVER_SIDE, COVER_SIDE,
                                  Qt.AspectRatioMode.IgnoreAspectRatio,
                                  Qt.TransformationMode.SmoothTransformation)
            self._scaled[crop.face_id] = scaled
        return scaled

    def _on_loaded(self, face_ids: list) -> None:
        covers = {crop.face_id for crop in [*self.snapshot.covers.values(),
                                            self.snapshot.to_check_cover] if crop is not None}
        if covers & set(face_ids) and self.rowCount():
            self.dataChanged.emit(self.index(0), self.index(self.rowCount() - 1),
                                  [Qt.ItemDataRole.DecorationRole])


class FaceModel(QAbstractListModel):
    def __init__(self, crops: FaceCropLoader, parent=None):
        super().__init__(parent)
        self.crops = crops
        self.faces: list[FaceRow] = []
        self.by_face: dict[int, FaceCrop] = {}
        self._blank = _placeholder(FACE_SIDE)
        crops.loaded.connect(self._on_loaded)

    def set_faces(self, faces: list[FaceRow], by_face: dict[int, FaceCrop]) -> None:
        self.beginResetModel()
        self.faces, self.by_face = list(faces), dict(by_face)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802,B008 - Qt override
        return 0 if parent.isValid() else len(self.faces)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else flags

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.faces):
            return None
        f = self.faces[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if f.person_id is None:
                return "no one"
            return "unsure" if f.unsure else ""
        if role == Qt.ItemDataRole.DecorationRole:
            return self.crops.image(self.by_face.get(f.id)) or self._blank
        if role == Qt.ItemDataRole.ToolTipRole:
            return f.path
        if role == Qt.ItemDataRole.UserRole:
            return f.id
        return None

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt override
        return [FACE_IDS_MIME]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802 - Qt override
        mime = QMimeData()
        ids = sorted({self.faces[i.row()].id for i in indexes if i.isValid()})
        mime.setData(FACE_IDS_MIME, json.dumps(ids).encode("ascii"))
        return mime

    def supportedDragActions(self):  # noqa: N802 - Qt override
        return Qt.DropAction.MoveAction

    def _on_loaded(self, face_ids: list) -> None:
        wanted = set(face_ids)
        rows = [n for n, f in enumerate(self.faces) if f.id in wanted]
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)),
                                  [Qt.ItemDataRole.DecorationRole])


def face_ids_from_mime(mime) -> list[int]:
    if mime is None or not mime.hasFormat(FACE_IDS_MIME):
        return []
    try:
        values = json.loads(bytes(mime.data(FACE_IDS_MIME)).decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return []
    return [v for v in values if isinstance(v, int)] if isinstance(values, list) else []


class PeopleList(QListView):
    """The people; faces dropped on a person are moved to them."""

    facesDropped = Signal(list, int)  # face ids, person id

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setDropIndicatorShown(True)

    def _target(self, event) -> int | None:
        index = self.indexAt(event.position().toPoint())
        person_id = index.data(Qt.ItemDataRole.UserRole) if index.isValid() else None
        return person_id if person_id not in (None, TO_CHECK) else None

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasFormat(FACE_IDS_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._target(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        target = self._target(event)
        faces = face_ids_from_mime(event.mimeData())
        if target is None or not faces:
            event.ignore()
            return
        event.acceptProposedAction()
        self.facesDropped.emit(faces, target)


class PeoplePage(ReadWhenShown, LiveWhileShown, Page):
    name = "people"
    title = "People"

    peopleShown = Signal()  # the people list was read and is on screen
    facesShown = Signal()  # the faces of the open person are on screen

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        self.reads = Reads(self)
        self.crops = FaceCropLoader(state.library, FACE_SIDE, self)
        self.current_person_id: int | None = None
        self._row = 0  # the row of the person opened, for when they are gone

        title = QLabel("People")
        title.setObjectName("paneTitle")
        self.summary = QLabel()
        header = QHBoxLayout()
        header.addWidget(title)
        header.addWidget(self.summary, 1)

        self.people_model = PeopleModel(self.crops, self)
        self.people_list = PeopleList()
        self.people_list.setObjectName("peopleList")
        self.people_list.setModel(self.people_model)
        self.people_list.setIconSize(QSize(COVER_SIDE, COVER_SIDE))
        self.people_list.setSpacing(2)
        self.people_list.setUniformItemSizes(True)
        self.people_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.people_list.setMinimumWidth(200)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("personName")
        self.name_edit.setPlaceholderText("Type a name and press Enter")
        self.name_edit.setClearButtonEnabled(True)
        self.names_model = QStringListModel(self)
        completer = QCompleter(self.names_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.name_edit.setCompleter(completer)
        self.name_hint = QLabel()
        self.name_hint.setObjectName("hint")
        self.name_hint.setWordWrap(True)

        self.face_model = FaceModel(self.crops, self)
        self.faces = QListView()
        self.faces.setObjectName("personFaces")
        self.faces.setModel(self.face_model)
        self.faces.setViewMode(QListView.ViewMode.IconMode)
        self.faces.setMovement(QListView.Movement.Static)
        self.faces.setResizeMode(QListView.ResizeMode.Adjust)
        self.faces.setUniformItemSizes(True)
        self.faces.setIconSize(QSize(FACE_SIDE, FACE_SIDE))
        self.faces.setGridSize(QSize(FACE_SIDE + 14, FACE_SIDE + 26))
        self.faces.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.faces.setDragEnabled(True)
        self.faces.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.faces.setDefaultDropAction(Qt.DropAction.MoveAction)

        a = page_action
        self.not_this_action = a(self, "Not this person", ["N"], self.not_this_person,
                                 "The selected faces are not this person: they leave and never "
                                 "come back to them")
        self.not_face_action = a(self, "Not a face", ["Delete"], self.remove_faces,
                                 "The selected faces are not faces (or not wanted): hide them "
                                 "for good")
        self.move_action = a(self, "Move to…", ["M"], self.choose_move_target,
                             "Move the selected faces to another person (or drag them onto a "
                             "person on the left)")
        self.merge_action = a(self, "Merge people", [], self.merge_selected,
                              "The people selected on the left become one person")
        self.rename_action = a(self, "Name…", ["F2"], self.focus_name,
                               "Type a name for this person")
        buttons = QHBoxLayout()
        for action in (self.move_action, self.not_this_action, self.not_face_action):
            key = action.shortcut().toString()
            buttons.addWidget(action_button(action, f"{action.text()}  ({key})"))
        buttons.addStretch(1)
        self.merge_button = action_button(self.merge_action)

        left = QWidget()
        lbox = QVBoxLayout(left)
        lbox.setContentsMargins(0, 0, 0, 0)
        lbox.addWidget(self.people_list, 1)
        lbox.addWidget(self.merge_button)
        right = QWidget()
        rbox = QVBoxLayout(right)
        rbox.setContentsMargins(6, 0, 0, 0)
        rbox.addWidget(self.name_edit)
        rbox.addWidget(self.name_hint)
        rbox.addWidget(self.faces, 1)
        rbox.addLayout(buttons)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 700])

        self.message = message_label()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.splitter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        self.message.setText("Reading the people…")

        self.people_list.selectionModel().currentChanged.connect(
            lambda current, _prev: self.open_person(current.data(Qt.ItemDataRole.UserRole)))
        self.people_list.selectionModel().selectionChanged.connect(
            lambda *_: self._update_actions())
        self.people_list.facesDropped.connect(self.move_faces)
        self.faces.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.faces.doubleClicked.connect(self._open_photo)
        self.name_edit.textChanged.connect(self._on_name_typed)
        self.name_edit.returnPressed.connect(self.rename_current)
        state.photosChanged.connect(self._on_library_changed)
        self._update_actions()
        self.set_actions_live(self.isVisible())

    def actions(self) -> list[QAction]:
        return [self.move_action, self.not_this_action, self.not_face_action]

    def view_actions(self) -> list[QAction]:
        return [self.rename_action, self.merge_action]

    # --- reading --------------------------------------------------------------------------
    def activate(self, person_id: int | None = None, **_kwargs) -> None:
        if person_id is not None:
            self.current_person_id = person_id
        self.refresh_if_stale(moved=person_id is not None)
        self.people_list.setFocus()

    def read_library(self) -> None:
        library = self.state.library
        self.reads.read("people", lambda: read_people(library), self._on_people,
                        self._on_failed)

    def _on_failed(self, text: str) -> None:
        self.message.setText(f"The people could not be read: {text}")
        self.stack.setCurrentWidget(self.message)

    def _on_people(self, snapshot: PeopleSnapshot) -> None:
        keep = self.current_person_id
        self.crops.forget()
        self.people_list.selectionModel().blockSignals(True)
        self.people_model.set_snapshot(snapshot)
        self.people_list.selectionModel().blockSignals(False)
        self.names_model.setStringList(snapshot.names)
        people = snapshot.people
        named = sum(p.source == "user" for p in people)
        self.summary.setText(f"{len(people):,} people, {named:,} named"
                             + (f"  ·  {snapshot.to_check:,} faces to check"
                                if snapshot.to_check else ""))
        if not self.people_model.rowCount():
            self.message.setText(
                "No people yet. Organize finds the faces in your photos and groups them by "
                "person; then name them here.")
            self.stack.setCurrentWidget(self.message)
            self.current_person_id = None
            self.face_model.set_faces([], {})
            self.peopleShown.emit()
            return
        self.stack.setCurrentWidget(self.splitter)
        row = self.people_model.row_of(keep) if keep is not None else -1
        if row < 0:  # gone (merged, emptied): the person now in its place
            row = min(max(self._row, 0), self.people_model.rowCount() - 1)
        self.people_list.setCurrentIndex(self.people_model.index(row))
        self.open_person(self.people_model.ids()[row], force=True)
        self.peopleShown.emit()

    def open_person(self, person_id: int | None, force: bool = False) -> None:
        if person_id is None:
            return
        if person_id == self.current_person_id and not force:
            return
        self.current_person_id = person_id
        self._row = self.people_model.row_of(person_id)
        person = self.current_person()
        # Not with signals blocked: the field's clear button follows its text by them.
        self.name_edit.setText(person.name if person is not None else "")
        self.name_edit.setEnabled(person is not None)
        self.name_edit.setPlaceholderText(
            "Type a name and press Enter" if person is not None else "Faces to check")
        self._on_name_typed(self.name_edit.text())
        library = self.state.library
        self.reads.read("faces", lambda: read_faces(library, person_id), self._on_faces,
                        self._on_failed)
        self._update_actions()

    def _on_faces(self, result) -> None:
        faces, by_face = result
        self.face_model.set_faces(faces, by_face)
        self._update_actions()
        self.facesShown.emit()

    def current_person(self) -> PersonRow | None:
        return next((p for p in self.people_model.snapshot.people
                     if p.id == self.current_person_id), None)

    def selected_face_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.faces.selectionModel().selectedIndexes()})
        return [self.face_model.faces[r].id for r in rows if r < len(self.face_model.faces)]

    def selected_person_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.people_list.selectionModel().selectedIndexes()})
        ids = self.people_model.ids()
        return [ids[r] for r in rows if r < len(ids) and ids[r] != TO_CHECK]

    def is_idle(self) -> bool:
        return self.reads.is_idle() and self.crops.is_idle()

    def _update_actions(self) -> None:
        faces = bool(self.selected_face_ids())
        in_person = self.current_person() is not None
        self.not_this_action.setEnabled(faces and in_person)
        self.not_face_action.setEnabled(faces)
        self.move_action.setEnabled(faces and len(self.people_model.snapshot.people) > 0)
        self.merge_action.setEnabled(len(self.selected_person_ids()) >= 2)
        self.rename_action.setEnabled(in_person)

    def _open_photo(self, index: QModelIndex) -> None:
        faces = self.face_model.faces
        if not index.isValid() or index.row() >= len(faces):
            return
        photo_ids = list(dict.fromkeys(f.photo_id for f in faces))
        self.state.show_page("viewer", photo_id=faces[index.row()].photo_id,
                             photo_ids=photo_ids, back="people")

    # --- naming ---------------------------------------------------------------------------
    def twin_of(self, name: str) -> PersonRow | None:
        """Another person already called ``name`` (naming this one so merges them)."""
        folded = " ".join(name.split()).casefold()
        return next((p for p in self.people_model.snapshot.people
                     if p.id != self.current_person_id and p.source == "user"
                     and p.name.casefold() == folded), None)

    def _on_name_typed(self, text: str) -> None:
        person = self.current_person()
        if person is None:
            self.name_hint.setText("Select faces and move them to a person (M or drag), or "
                                   "mark them as not a face (Delete).")
            return
        twin = self.twin_of(text) if text.strip() else None
        if twin is not None:
            self.name_hint.setText(f"Enter merges this person with {twin.name} "
                                   f"({twin.faces:,} faces): they are one person. Undo takes it "
                                   "back.")
        elif person.source != "user":
            self.name_hint.setText("Not named yet: type a name and press Enter.")
        else:
            self.name_hint.setText(f"{person.faces:,} faces in {person.photos:,} photos. Select "
                                   "faces that are someone else: N, M or drag them to a person.")

    def focus_name(self) -> None:
        self.name_edit.setFocus()
        self.name_edit.selectAll()

    def rename_current(self) -> None:
        person = self.current_person()
        name = " ".join(self.name_edit.text().split())
        if person is None or not name or (name == person.name and person.source == "user"):
            return
        library, pid = self.state.library, person.id
        twin = self.twin_of(name)
        if twin is not None:
            self.current_person_id = twin.id  # the merged person is shown after the edit
        self.state.run_edit(lambda: editing.name_person(library, pid, name),
                            title="Naming a person")

    # --- correcting -----------------------------------------------------------------------
    def merge_selected(self) -> None:
        ids = self.selected_person_ids()
        if len(ids) < 2:
            return
        target = self.current_person_id if self.current_person_id in ids else ids[0]
        library = self.state.library
        self.state.run_edit(lambda: editing.merge_people(library, target,
                                                         [i for i in ids if i != target]),
                            title="Merging people")

    def not_this_person(self) -> None:
        faces, person = self.selected_face_ids(), self.current_person()
        if not faces or person is None:
            return
        library, pid = self.state.library, person.id
        self.state.run_edit(lambda: editing.faces_not_this_person(library, faces, pid),
                            title="Taking faces out of a person")

    def remove_faces(self) -> None:
        faces = self.selected_face_ids()
        if faces:
            library = self.state.library
            self.state.run_edit(lambda: editing.remove_faces(library, faces),
                                title="Removing faces")

    def move_faces(self, face_ids: list[int], person_id: int | None) -> None:
        """Put ``face_ids`` in ``person_id`` (None: a new person)."""
        if not face_ids or (person_id is not None and person_id == self.current_person_id):
            return
        library = self.state.library
        self.state.run_edit(lambda: editing.move_faces(library, face_ids, person_id),
                            title="Moving faces")

    def move_menu(self) -> QMenu:
        menu = QMenu(self)
        for p in self.people_model.snapshot.people:
            if p.id != self.current_person_id:
                action = menu.addAction(p.label)
                action.triggered.connect(lambda _c=False, pid=p.id: self.move_faces(
                    self.selected_face_ids(), pid))
        menu.addSeparator()
        menu.addAction("A new person").triggered.connect(
            lambda _c=False: self.move_faces(self.selected_face_ids(), None))
        return menu

    def choose_move_target(self) -> None:
        if not self.selected_face_ids():
            return
        menu = self.move_menu()
        rect = self.faces.visualRect(self.faces.currentIndex())
        menu.popup(self.faces.viewport().mapToGlobal(rect.center()))

