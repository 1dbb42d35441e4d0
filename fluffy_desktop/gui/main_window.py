"""The main window: search bar, side panel, photo grid, status bar; engine work in workers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from fluffy_desktop.engine.model_state import RELEARN
from fluffy_desktop.gui.album_header import AlbumHeader
from fluffy_desktop.gui.answers_dialog import AnswersDialog
from fluffy_desktop.gui.concept_actions import ConceptActions
from fluffy_desktop.gui.concept_dialog import ConceptDialog
from fluffy_desktop.gui.dnd import dropped
from fluffy_desktop.gui.empty_state import EmptyState
from fluffy_desktop.gui.first_run import FirstRunPage
from fluffy_desktop.gui.grid import GridItem, PhotoGrid, PhotoModel
from fluffy_desktop.gui.icons import app_icon, icon
from fluffy_desktop.gui.indexing import Indexer
from fluffy_desktop.gui.model_banner import ModelBanner
from fluffy_desktop.gui.places import fit_screen, pictures
from fluffy_desktop.gui.preview import LocateTarget, PreviewDialog
from fluffy_desktop.gui.progress import TaskProgress
from fluffy_desktop.gui.review_dialog import ReviewDialog
from fluffy_desktop.gui.search_bar import SearchBar
from fluffy_desktop.gui.side_panel import ConceptSummary, SidePanel
from fluffy_desktop.gui.thumbnails import Thumbnails
from fluffy_desktop.gui.watcher import FolderWatcher
from fluffy_desktop.gui.words import counted
from fluffy_desktop.gui.workers import STOP_TIMEOUT_S, Job, Jobs

if TYPE_CHECKING:
    from fluffy_desktop.engine.album import Album
    from fluffy_desktop.engine.model_state import ModelState

SEARCH_K = 1000  # ranked photos fetched per query (the cut-off and date sort work on these)
MAX_GRID = 2_000_000  # photos listed in the library view
REFRESH_WHILE_INDEXING_MS = 2500  # the library view shows new photos as they are indexed
DEFAULT_CUTOFF = 0.20
WINDOW_SIZE = QSize(1280, 820)  # at a first start, where the screen has room for it


def index_summary(report) -> str:
    """'Indexed 1,200 photos in 35 s: 12 new, 3 unreadable.', or that nothing changed."""
    counts = [
        (report.added, "new"),
        (report.updated, "changed"),
        (report.removed, "removed"),
        (len(report.failed), "unreadable"),
    ]
    parts = [f"{count:,} {label}" for count, label in counts if count]
    if not parts:
        return f"Your library is up to date: {counted(report.total, 'photo')}."
    return (
        f"Indexed {counted(report.total, 'photo')} in {report.seconds:.1f} s: {', '.join(parts)}."
    )


class MainWindow(QMainWindow):
    answers_recorded = Signal(str, bool)  # a concept's answers recorded and re-tuned, or failed

    def __init__(self, album: Album, settings: QSettings, scan_at_start: bool = True):
        super().__init__()
        self.album = album
        self.settings = settings
        self.scan_due = scan_at_start  # a catch-up scan, once the model and folders are known
        self.model_loaded = False
        self.jobs = Jobs(self)
        self.thumbnails = Thumbnails(album.home.thumbnails_dir, parent=self)
        self.indexer = Indexer(album, self.jobs, self)
        self.watcher = FolderWatcher(self.jobs, self)
        self.concept_actions = ConceptActions(self)
        self.query = ""
        self.album_name: str | None = None  # the concept whose album the grid shows
        self.hits: list[GridItem] = []
        self.query_concepts: list[str] = []
        self.searching = ""  # the status line while a search runs, cleared by its results
        self.concepts: list[ConceptSummary] = []
        self.folders: list[Path] = []
        self.photo_count = 0
        self.model_state: ModelState | None = None  # what is ready for the model in use
        self.relearn_job: Job | None = None
        self.concept_dialog: ConceptDialog | None = None
        self.preview: PreviewDialog | None = None
        self.stopped = False  # set on closing: every worker ended within the limit
        self._generation = 0
        self.setWindowTitle("Fluffy")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build()
        self._connect()
        self._restore()

    # --- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        self.search_bar = SearchBar(self)
        self.search_bar.set_ranked(False)
        self.toolbar = toolbar = QToolBar("Search", self)
        toolbar.setObjectName("search")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addWidget(self.search_bar)
        toolbar.addSeparator()
        self.add_folder_action = toolbar.addAction(icon("folder-add"), "Add folder…")
        self.new_concept_action = toolbar.addAction(icon("concept-new"), "New concept…")
        self.new_concept_action.setToolTip(
            "Teach Fluffy a pet, a person or a thing from a few photos (the selected ones, if any)"
        )
        toolbar.setStyleSheet("QToolBar { padding: 6px; spacing: 6px; }")
        self.addToolBar(toolbar)

        self.model = PhotoModel(self.thumbnails, self)
        self.grid = PhotoGrid(self.model, self)
        self.empty = EmptyState(self)
        self.content = QStackedWidget(self)
        self.content.addWidget(self.grid)
        self.content.addWidget(self.empty)
        self.side = SidePanel(self.thumbnails, self)
        self.banner = ModelBanner(self)
        self.album_header = AlbumHeader(self)
        photos = QWidget(self)
        column = QVBoxLayout(photos)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.banner)
        column.addWidget(self.album_header)
        column.addWidget(self.content, 1)
        self.splitter = QSplitter(self)
        self.splitter.addWidget(self.side)
        self.splitter.addWidget(photos)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 1000])

        self.first_run = FirstRunPage(self.album, self.jobs, self)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.splitter)
        self.pages.addWidget(self.first_run)
        self.setCentralWidget(self.pages)

        self.count_label = QLabel(self)
        self.progress = TaskProgress(self.jobs, self)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.count_label)
        self.refresh_timer = QTimer(self, interval=REFRESH_WHILE_INDEXING_MS)
        self.refresh_timer.timeout.connect(self._refresh_while_indexing)

    def _connect(self) -> None:
        self.search_bar.query_entered.connect(self.run_query)
        self.search_bar.view_changed.connect(self._show_hits)
        self.add_folder_action.triggered.connect(self.choose_folder)
        self.new_concept_action.triggered.connect(
            lambda: self.open_concept_dialog(self.grid.selected_paths())
        )
        self.grid.preview_requested.connect(self.open_preview)
        self.grid.customContextMenuRequested.connect(self._grid_menu)
        self.side.add_folder_requested.connect(self.choose_folder)
        self.side.remove_folder_requested.connect(self.remove_folder)
        self.side.concept_clicked.connect(self.show_album)
        self.side.concept_action.connect(self.concept_actions.run)
        self.album_header.action_requested.connect(self.concept_actions.run)
        self.side.import_requested.connect(self.concept_actions.import_file)
        self.side.new_concept_requested.connect(self.open_concept_dialog)
        self.indexer.started.connect(self._indexing_started)
        self.indexer.indexed.connect(self._indexed)
        self.indexer.failed.connect(lambda message: self._indexing_ended(message))
        self.indexer.stopped.connect(lambda: self._indexing_ended("Indexing stopped."))
        self.watcher.changed.connect(self._folders_changed)
        self.first_run.ready.connect(self._model_ready)
        self.banner.resume_requested.connect(lambda: self.indexer.index())
        for keys, slot in (
            (QKeySequence.StandardKey.Find, self.search_bar.field.setFocus),
            (QKeySequence("Ctrl+L"), self.search_bar.field.selectAll),
            (QKeySequence.StandardKey.Open, self.choose_folder),
            (QKeySequence.StandardKey.New, self.new_concept_action.trigger),
        ):
            QShortcut(keys, self).activated.connect(slot)

    # --- settings -------------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            self.restoreState(self.settings.value("window/state", QByteArray()))
        else:
            self.resize(fit_screen(self, WINDOW_SIZE))
            frame = self.frameGeometry()
            frame.moveCenter(self.screen().availableGeometry().center())
            self.move(frame.topLeft())
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        self.search_bar.set_cutoff(float(self.settings.value("view/cutoff", DEFAULT_CUTOFF)))
        by_date = self.settings.value("view/by_date", False)
        self.search_bar.by_date_button.setChecked(by_date in (True, "true"))

    def _save(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("view/cutoff", self.search_bar.cutoff() or 0.0)
        self.settings.setValue("view/by_date", self.search_bar.by_date())
        self.settings.sync()

    def resizeEvent(self, event) -> None:
        """The toolbar's buttons drop their words where the window is too narrow for them (a
        small screen), rather than hiding behind the toolbar's overflow arrow."""
        super().resizeEvent(event)
        wide, narrow = (
            Qt.ToolButtonStyle.ToolButtonTextBesideIcon,
            Qt.ToolButtonStyle.ToolButtonIconOnly,
        )
        for style in (wide, narrow):
            self.toolbar.setToolButtonStyle(style)
            self.search_bar.by_date_button.setToolButtonStyle(style)
            if self.toolbar.sizeHint().width() <= event.size().width():
                break

    def closeEvent(self, event) -> None:
        self._save()
        self.hide()  # gone at once for the user, while the workers wind down
        self.indexer.cancel()
        for dialog in (self.concept_dialog, self.preview):
            if dialog is not None:
                dialog.reject()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        jobs_ended = self.jobs.stop_all(STOP_TIMEOUT_S)
        self.stopped = self.thumbnails.stop(deadline - time.monotonic()) and jobs_ended
        super().closeEvent(event)

    # --- start-up and the model -----------------------------------------------------------
    def start(self) -> None:
        """Show the library at once; load the model in a worker, or ask for it first."""
        self.search_bar.field.setFocus()
        self.refresh_library()
        self.refresh_concepts()
        if self.album.model_on_disk():
            job = self.jobs.start(
                lambda progress, cancel: self.album.clip(progress, cancel),
                done=lambda _clip: self._model_ready(),
                error=self._model_missing,
            )
            self.progress.track(job, "Loading the model…", cancellable=False)
        else:
            self._model_missing("")

    def _model_missing(self, message: str) -> None:
        self.pages.setCurrentWidget(self.first_run)
        self.toolbar.hide()
        self.count_label.hide()
        if message:
            self.first_run.say(message, error=True)

    def _model_ready(self) -> None:
        self.pages.setCurrentWidget(self.splitter)
        self.toolbar.show()
        self.count_label.show()
        self.search_bar.field.setFocus()
        self.model_loaded = True
        self._catch_up()
        self.refresh_model_state(after_load=True)

    def _catch_up(self) -> None:
        """At start, index what changed while the app was closed."""
        if self.scan_due and self.model_loaded and self.folders:
            self.scan_due = False
            self.indexer.index()

    # --- a change of model ----------------------------------------------------------------
    def refresh_model_state(self, after_load: bool = False) -> None:
        """Read what is ready for the model in use (in a worker); just after the model loaded,
        re-embed the library if it was embedded with another model; once no indexing runs,
        re-learn the concepts learned with another model."""
        if not self.model_loaded:
            return
        self.jobs.start(
            lambda progress, cancel: self.album.model_state(),
            done=lambda state: self._model_state_read(state, after_load),
            error=self.notify,
        )

    def _model_state_read(self, state: ModelState | None, after_load: bool) -> None:
        self.model_state = state
        indexing = self.indexer.running()
        if state is not None and after_load and state.notice and not indexing:
            self.indexer.index()
        elif state is not None and state.named(RELEARN) and not indexing:
            self.relearn()
        self._show_banner()
        self._update_view()

    def _show_banner(self) -> None:
        relearning = self.relearn_job is not None
        self.banner.show_state(self.model_state, self.indexer.running(), relearning)

    def relearn(self) -> None:
        """Re-learn, in a worker, the concepts learned with another model (one run at a time)."""
        if self.relearn_job is not None:
            return
        self.relearn_job = job = self.jobs.start(
            lambda progress, cancel: self.album.relearn((), progress, cancel),
            done=self._relearned,
            error=lambda message: self._relearn_ended(message),
            cancelled=lambda: self._relearn_ended("Re-learning stopped."),
        )
        self.progress.track(job, "Re-learning concepts for the new model…")

    def _relearned(self, reports) -> None:
        self._relearn_ended("; ".join(report.summary() for report in reports))
        self.refresh_concepts()
        self._show_again()

    def _relearn_ended(self, message: str) -> None:
        self.relearn_job = None
        self.notify(message)
        self.refresh_model_state()

    # --- the library ----------------------------------------------------------------------
    def refresh_library(self) -> None:
        """Folders, photo count and (without a query) the newest photos, read in a worker."""

        def read(progress, cancel):
            folders = self.album.folders()
            records = self.album.recent(MAX_GRID)
            return folders, [GridItem(r.path, r.when) for r in records]

        generation = self._generation
        self.jobs.start(
            read, done=lambda result: self._library_read(generation, *result), error=self.notify
        )

    def _library_read(self, generation: int, folders: list[Path], items: list[GridItem]) -> None:
        if folders != self.folders:
            self.folders = folders
            self.side.set_folders(folders)
            self.watcher.watch(folders)
            self._catch_up()
        self.photo_count = len(items)
        if generation == self._generation and not self.query:
            scroll = self.grid.verticalScrollBar().value()
            self.model.set_items(items)
            self.grid.verticalScrollBar().setValue(scroll)
            self._update_view()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos", pictures())
        if folder:
            self.add_folders([Path(folder)])

    def add_folders(self, folders: list[Path]) -> None:
        self.jobs.start(
            lambda progress, cancel: self.album.add_folders(folders),
            done=self._folders_added,
            error=self.show_error,
        )

    def _folders_added(self, folders: list[Path]) -> None:
        self.notify(f"Added {', '.join(str(f) for f in folders)}. Indexing…")
        self.refresh_library()
        self.indexer.index(folders)

    def remove_folder(self, folder: Path) -> None:
        answer = QMessageBox.question(
            self,
            "Remove folder",
            f"Remove {folder} from the library?\nThe photos stay where they are; Fluffy "
            "forgets them.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.jobs.start(
            lambda progress, cancel: self.album.remove_folder(folder),
            done=lambda _none: self._after_change(f"Removed {folder} from the library."),
            error=self.show_error,
        )

    def _after_change(self, message: str) -> None:
        self.refresh_library()
        self._show_again()
        self.notify(message)  # after the search starts, so that its results do not hide it

    def _concept_changed(self, message: str) -> None:
        """A concept's examples or answers changed: its album, its search and its panel line."""
        self._after_change(message)
        self.refresh_concepts()

    def _show_again(self) -> None:
        """Run the current search (or show the current album) again: its results changed."""
        if self.album_name:
            self.show_album(self.album_name)
        elif self.query:
            self.run_query(self.query)

    def _folders_changed(self) -> None:
        if self.folders and self.pages.currentWidget() is self.splitter:
            self.indexer.index()

    def _indexing_started(self, job) -> None:
        self.progress.track(job, "Indexing…")
        self.refresh_timer.start()
        self._show_banner()
        self._update_view()

    def _refresh_while_indexing(self) -> None:
        self.refresh_model_state()
        if not self.query:
            self.refresh_library()

    def _indexed(self, report) -> None:
        self._indexing_ended(index_summary(report))
        if report.updated or report.removed:
            self.thumbnails.forget()
        if report.added or report.updated or report.removed:
            self._show_again()

    def _indexing_ended(self, message: str) -> None:
        if not self.indexer.running():
            self.refresh_timer.stop()
        self.notify(message)
        self.refresh_library()
        self.refresh_model_state()

    # --- searching ------------------------------------------------------------------------
    def run_query(self, text: str) -> None:
        """Search (text may name concepts, "-negatives" or a photo path); empty: the library."""
        self._generation += 1
        generation = self._generation
        self.query = text.strip()
        self.album_name = None
        self.album_header.hide()
        self.search_bar.set_ranked(bool(self.query))
        self.side.concepts.select(self.query)
        if not self.query:
            self.hits, self.query_concepts = [], []
            self.refresh_library()
            return
        query = self.query

        def search(progress, cancel):
            hits = self.album.search(query, SEARCH_K)
            return [GridItem(hit.path, hit.when, hit.score) for hit in hits], list(hits.concepts)

        self.searching = f"Searching for “{query}”…"
        self.statusBar().showMessage(self.searching)
        if self.model_state is not None and not self.model_state.ready:
            self.refresh_model_state()  # the banner says how far re-embedding has got
        self.jobs.start(
            search,
            done=lambda result: self._found(generation, *result),
            error=lambda message: self._search_failed(generation, message),
        )

    def show_album(self, name: str) -> None:
        """The concept's album: its examples, "yes" answers and photos above its own threshold
        (the Match slider is for free-text search only)."""
        self._generation += 1
        generation = self._generation
        self.query, self.album_name = name, name
        self.search_bar.set_ranked(True, album=name)
        self.search_bar.set_text("")  # the grid shows the album, not a search
        self.album_header.show_concept(name, self.side.concepts.kind_of(name))
        self.side.concepts.select(name)
        album = self.album

        def read(progress, cancel):
            concept, members = album.concept_photos(name)
            items = [GridItem(m.path, album.photo_when(m.path), m.score, m.state) for m in members]
            return items, [concept.name]

        self.jobs.start(
            read,
            done=lambda result: self._found(generation, *result),
            error=lambda message: self._search_failed(generation, message),
        )

    def _found(self, generation: int, items: list[GridItem], concepts: list[str]) -> None:
        if generation != self._generation:
            return
        self.hits, self.query_concepts = items, concepts
        if self.statusBar().currentMessage() == self.searching:
            self.statusBar().clearMessage()
        self._show_hits()
        self.grid.scrollToTop()

    def _search_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.hits = []
            self._show_hits()
            self.show_error(message)

    def _show_hits(self) -> None:
        """Apply the cut-off and the date toggle to the current matches."""
        if not self.query:
            return
        cutoff = None if self.album_name else self.search_bar.cutoff()
        items = self.hits if cutoff is None else [i for i in self.hits if i.score >= cutoff]
        if self.search_bar.by_date():
            items = sorted(items, key=lambda item: item.when, reverse=True)
        self.model.set_items(items)
        self._update_view()

    def _update_view(self) -> None:
        """The grid, or the empty state that says why there is nothing, and the count."""
        shown = len(self.model.items())
        if self.album_name:
            self.count_label.setText(f"{self.album_name} · {counted(shown, 'photo')}")
            self.album_header.show_count(shown)
        elif self.query:
            self.count_label.setText(f"{shown:,} of {len(self.hits):,} matches")
        elif self.model_state is not None and self.model_state.notice:
            state = self.model_state
            self.count_label.setText(f"{state.embedded:,} of {state.photos:,} photos ready")
        else:
            self.count_label.setText(f"{self.photo_count:,} photos")
        if shown:
            self.content.setCurrentWidget(self.grid)
            return
        self.content.setCurrentWidget(self.empty)
        self._explain_empty()

    def _explain_empty(self) -> None:
        if self.query and self.hits:
            cutoff = self.search_bar.cutoff() or 0.0
            self.empty.show_state(
                "search",
                "No strong matches",
                f"No photo scores {cutoff:.2f} or more for “{self.query}”. Move the Match "
                "slider to the left to see weaker matches.",
                ("search", "Show all matches", lambda: self.search_bar.set_cutoff(None)),
            )
        elif self.query and self.model_state is not None and self.model_state.notice:
            self.empty.show_state(
                "refresh",
                "Not re-embedded yet",
                f"Your photos are being re-embedded for the new model: "
                f"{self.model_state.embedded:,} of {self.model_state.photos:,} done. "
                "Search again in a moment.",
            )
        elif self.query:
            self.empty.show_state("search", "Nothing found", f"No photos for “{self.query}”.")
        elif not self.folders:
            self.empty.show_state(
                "photos",
                "Your library is empty",
                "Add the folders your photos are in, or drop a folder onto this window. "
                "Fluffy only reads them: it never changes, moves or uploads a photo.",
                ("folder-add", "Add a folder…", self.choose_folder),
            )
        elif self.indexer.running():
            self.empty.show_state("refresh", "Indexing your photos…", "They appear here soon.")
        else:
            self.empty.show_state(
                "photos",
                "No photos yet",
                "Fluffy found no photos in your library folders.",
                ("folder-add", "Add another folder…", self.choose_folder),
            )

    # --- concepts -------------------------------------------------------------------------
    def refresh_concepts(self) -> None:
        self.jobs.start(
            lambda progress, cancel: [ConceptSummary.of(c) for c in self.album.concepts.list()],
            done=self._concepts_read,
            error=self.show_error,
        )

    def _concepts_read(self, concepts: list[ConceptSummary]) -> None:
        self.concepts = concepts
        self.side.set_concepts(concepts)
        self.side.concepts.select(self.query)
        self.search_bar.set_concepts([c.name for c in concepts])
        if self.album_name and self.album_name not in {c.name for c in concepts}:
            self.search_bar.set_text("")  # its concept was deleted: back to the library
            self.run_query("")
        elif self.album_name:
            self.album_header.set_kind(self.side.concepts.kind_of(self.album_name))

    def open_concept_dialog(self, photos: list[Path]) -> None:
        dialog = self.concept_dialog
        if dialog is not None and dialog.job is not None and dialog.isVisible():
            dialog.add_photos(photos)
            dialog.raise_()
            return
        self.concept_dialog = ConceptDialog(
            self.album,
            self.jobs,
            self.thumbnails,
            photos,
            known=[c.name for c in self.concepts],
            parent=self,
        )
        self.concept_dialog.learned.connect(self._learned)
        self._forget_when_closed(self.concept_dialog)
        self.concept_dialog.open()

    def _learned(self, report) -> None:
        self.notify(
            f"Learned {report.name} ({report.kind}) from {counted(report.photos, 'photo')} "
            f"in {report.seconds:.1f} s."
        )
        self.refresh_concepts()
        self.show_album(report.name)

    def open_review(self, name: str) -> ReviewDialog:
        """ "Is this <concept>?": a batch of questions; the answers re-tune it afterwards."""
        dialog = ReviewDialog(self.album, self.jobs, self.thumbnails, name, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.answers_ready.connect(lambda yes, no: self.record_answers(name, yes, no))
        self.answers_recorded.connect(dialog.recorded)
        dialog.open()
        return dialog

    def open_answers(self, name: str) -> AnswersDialog:
        """The concept's examples and answers, each removable."""
        dialog = AnswersDialog(
            self.album, self.jobs, self.thumbnails, name, self._concept_changed, self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def record_answers(self, name: str, yes: list[Path], no: list[Path]) -> None:
        """Record answers (review, or the photo menu's "This is" / "Not") and re-tune the
        concept, in a worker."""

        def record(progress, cancel) -> None:
            if yes:
                self.album.answer(name, yes, True, progress, cancel)
            if no:
                self.album.answer(name, no, False, progress, cancel)

        def recorded(_none) -> None:
            self._concept_changed(f"{name}: {len(yes)} yes, {len(no)} no — re-tuned.")
            self.answers_recorded.emit(name, True)

        def failed(message: str) -> None:
            self.answers_recorded.emit(name, False)
            self.show_error(message)

        job = self.jobs.start(record, done=recorded, error=failed)
        self.progress.track(job, f"Re-tuning {name}…", cancellable=False)

    # --- grid actions ---------------------------------------------------------------------
    def _grid_menu(self, pos) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        if not self.grid.selectionModel().isSelected(index):
            self.grid.setCurrentIndex(index)
        menu = self.photo_menu(index.row())
        menu.exec(self.grid.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def photo_menu(self, row: int) -> QMenu:
        """What can be done with the photo in this row (and the selection)."""
        item = self.model.item(row)
        selected = self.grid.selected_paths() or [item.path]
        menu = QMenu(self)
        menu.addAction(icon("open"), "Open", lambda: self.open_file(item.path))
        menu.addAction(
            icon("show-folder"), "Show in folder", lambda: self.show_in_folder(item.path)
        )
        menu.addAction(icon("photos"), "Preview", lambda: self.open_preview(row))
        menu.addSeparator()
        menu.addAction(icon("similar"), "Find similar", lambda: self.find_similar(item.path))
        count = len(selected)
        for name in self.query_concepts:
            menu.addAction(
                icon("concept"),
                f"This is {name}" if count == 1 else f"These are {name}",
                lambda n=name: self.record_answers(n, selected, []),
            )
            menu.addAction(
                icon("not-concept"),
                f"Not {name}",
                lambda n=name: self.record_answers(n, [], selected),
            )
        menu.addSeparator()
        menu.addAction(
            icon("concept-new"),
            f"New concept from {counted(count, 'photo')}…",
            lambda: self.open_concept_dialog(selected),
        )
        return menu

    def find_similar(self, path: Path) -> None:
        self.search_bar.search_for(str(path))

    @staticmethod
    def open_file(path: Path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    @staticmethod
    def show_in_folder(path: Path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    def preview_targets(self) -> list[LocateTarget]:
        """What "Where is …?" can look for: the query's concepts (together), the query, else
        any one concept."""
        if self.query_concepts:
            return [LocateTarget(self.query, tuple(self.query_concepts))]
        if self.query and not Path(self.query).expanduser().is_file():
            return [LocateTarget(self.query, ())]
        return [LocateTarget(f"[{c.name}]", (c.name,)) for c in self.concepts]

    def open_preview(self, row: int) -> None:
        items = self.model.items()
        if not 0 <= row < len(items):
            return
        self.preview = PreviewDialog(
            self.album, self.jobs, items, row, self.preview_targets(), self
        )
        self.preview.row_changed.connect(self._preview_moved)
        self._forget_when_closed(self.preview)
        self.preview.open()

    def _forget_when_closed(self, dialog: QDialog) -> None:
        """A closed dialog deletes itself: then the window no longer points to it."""
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))

    def _dialog_closed(self, dialog: QDialog) -> None:
        if self.preview is dialog:
            self.preview = None
        if self.concept_dialog is dialog:
            self.concept_dialog = None

    def _preview_moved(self, row: int) -> None:
        if row < self.model.rowCount():
            index = self.model.index(row)
            self.grid.setCurrentIndex(index)
            self.grid.scrollTo(index)

    # --- drops ----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if dropped(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        found = dropped(event.mimeData())
        if not found:
            return
        event.acceptProposedAction()
        if found.folders:
            self.add_folders(found.folders)
        if found.photos:
            self.open_concept_dialog(found.photos)

    # --- messages -------------------------------------------------------------------------
    def notify(self, message: str) -> None:
        self.statusBar().showMessage(message, 10_000)

    def show_error(self, message: str) -> None:
        """A user error: one line, in a box that does not block the window."""
        self.statusBar().showMessage(message, 15_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Fluffy", message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
