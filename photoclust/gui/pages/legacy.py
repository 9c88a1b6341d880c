"""The map and review views as pages, used while ``pages/map.py`` and ``pages/review.py`` are
not there: the shell falls back to these so neither view is lost."""
from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from photoclust.core import editing
from photoclust.core.queries import cluster_of_photo, list_clusters
from photoclust.core.settings import effective_model
from photoclust.gui.map_layout import MapLayout, MapLayoutJob, cluster_of_photos
from photoclust.gui.models.review_model import (
    ReviewJob,
    ReviewListModel,
    ReviewQueue,
    is_photo_question,
)
from photoclust.gui.pages.base import Page
from photoclust.gui.state import AppState
from photoclust.gui.views.map_view import MapView
from photoclust.gui.views.review_panel import ReviewPanel


class MapPage(Page):
    name = "map"
    title = "Map"

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(state, parent)
        self.view = MapView()
        self.layout_result: MapLayout | None = None
        self._job = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.view.photoClicked.connect(self._open_photo)
        state.photosChanged.connect(self._recolor)

    def activate(self, **kwargs) -> None:
        if self.layout_result is not None:
            self._recolor()
        elif self._job is None:
            model = effective_model(self.state.library, self.state.settings)
            self._job = self.state.run_job(MapLayoutJob(self.state.library, model),
                                           self._on_layout)

    def _on_layout(self, layout: MapLayout) -> None:
        self._job = None
        self.layout_result = layout
        self._recolor()

    def _recolor(self) -> None:
        if self.layout_result is None:
            return
        r = self.layout_result
        r.cluster_ids = cluster_of_photos(self.state.library, r.photo_ids)
        names = {c.id: c.name for c in list_clusters(self.state.library)}
        self.view.set_layout(r.photo_ids, r.xy, r.cluster_ids, names)

    def _open_photo(self, photo_id: int) -> None:
        self.state.show_page("photos", cluster_id=cluster_of_photo(self.state.library, photo_id),
                             photo_id=photo_id)


class ReviewPage(Page):
    name = "review"
    title = "Review"

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(state, parent)
        self.model = ReviewListModel(state.thumbnails, self)
        self.panel = ReviewPanel(self.model)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.panel)
        self.panel.acceptRequested.connect(self.accept_suggestion)
        self.panel.refuseRequested.connect(self.refuse_suggestion)
        state.edited.connect(lambda result: self.model.remove_answered_photos(result.photo_ids))
        self._job = None

    def activate(self, **kwargs) -> None:
        if self._job is None:
            self._job = self.state.run_job(ReviewJob(self.state.library, model=None),
                                           self._on_queue)

    def _on_queue(self, queue: ReviewQueue) -> None:
        self._job = None
        self.model.set_queue(queue)

    def accept_suggestion(self, row: int) -> None:
        q = self.model.question(row)
        library = self.state.library
        if is_photo_question(q):
            if cluster_of_photo(library, q.photo_id) == q.suggested_cluster_id:
                self.state.run_edit(lambda: editing.confirm_photos(library, [q.photo_id]))
            else:
                self.state.run_edit(lambda: editing.move_photos(library, [q.photo_id],
                                                                q.suggested_cluster_id))
        elif q.kind == "merge":
            self.state.run_edit(lambda: editing.merge_clusters(library, q.cluster_id,
                                                               [q.other_cluster_id]))
        else:
            self.state.run_edit(lambda: editing.new_cluster_from_photos(library, q.photo_ids))
        self.model.remove(q)

    def refuse_suggestion(self, row: int) -> None:
        from photoclust.core.learning.constraints import refuse_suggestion

        q = self.model.question(row)
        if is_photo_question(q):
            return  # a photo is answered by moving it where it belongs
        refuse_suggestion(self.state.library, q.kind, q.cluster_id,
                          q.other_cluster_id if q.other_cluster_id is not None else -1)
        self.model.remove(q)
        self.state.message.emit("Noted: that suggestion will not come back.")
