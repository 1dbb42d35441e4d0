"""Rename, delete, export, import and take elsewhere (XMP keywords, copies) from the side
panel; file work runs in workers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox

from fluffy_desktop.gui.places import pictures
from fluffy_desktop.gui.words import counted

if TYPE_CHECKING:
    from fluffy_desktop.engine.album import Album
    from fluffy_desktop.gui.main_window import MainWindow

CONCEPT_FILES = "Fluffy concepts (*.safetensors);;All files (*)"
SKIPPED_LISTED = 10  # unreadable sidecars named after an export; the rest are counted
# (action, menu label, icon) of taking an album elsewhere: in the concept menu and on its page
TAKE_ELSEWHERE = (
    ("tags", "Export tags to sidecars…", "export"),
    ("copy", "Copy photos to a folder…", "folder"),
)


class ConceptActions:
    """What the concept list's menu and the import button do, on behalf of the main window."""

    def __init__(self, window: MainWindow):
        self.window = window

    @property
    def album(self) -> Album:
        return self.window.album

    def run(self, action: str, name: str) -> None:
        {
            "show": lambda: self.window.show_album(name),
            "review": lambda: self.window.open_review(name),
            "answers": lambda: self.window.open_answers(name),
            "tags": lambda: self.export_tags(name),
            "copy": lambda: self.copy_photos(name),
            "rename": lambda: self.rename(name),
            "export": lambda: self.export(name),
            "delete": lambda: self.delete(name),
        }[action]()

    def _do(self, work, message: str, after=None) -> None:
        def done(result) -> None:
            self.window.notify(message)
            self.window.refresh_concepts()
            if after is not None:
                after(result)

        self.window.jobs.start(
            lambda progress, cancel: work(), done=done, error=self.window.show_error
        )

    def _report(self, work, describe) -> None:
        """Run work in a worker and show describe(result) in the status bar."""
        self.window.jobs.start(
            lambda progress, cancel: work(),
            done=lambda result: self.window.notify(describe(result)),
            error=self.window.show_error,
        )

    def export_tags(self, name: str) -> None:
        """Dry-run the XMP export, say what it would write, and write it if the user agrees."""
        self.window.jobs.start(
            lambda progress, cancel: self.album.export_tags([name], dry_run=True).to_json(),
            done=lambda doc: self._confirm_export(name, doc),
            error=self.window.show_error,
        )

    def _confirm_export(self, name: str, plan: dict) -> None:
        written, merged, unreadable = plan["written"], plan["merged"], len(plan["skipped"])
        if not (written or merged or unreadable):
            self.window.notify(f"{name}: every photo of its album already has the keyword.")
            return
        lines = [
            f"• {counted(written, 'new sidecar')}",
            f"• added to {counted(merged, 'existing sidecar')} (nothing in them is lost)",
        ]
        if unreadable:
            lines.append(f"• {counted(unreadable, 'unreadable sidecar')} left alone")
        answer = QMessageBox.question(
            self.window,
            "Export tags",
            f"Write the keyword “{name}” beside the photos of its album?\n\n"
            "In .xmp sidecars, where digiKam, darktable, Lightroom and exiftool find it:\n"
            + "\n".join(lines)
            + "\n\nThe photos themselves are not changed. This is one-way: Fluffy does not "
            "remove the keywords later.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.window.jobs.start(
                lambda progress, cancel: self.album.export_tags([name]).to_json(),
                done=lambda doc: self._exported(name, doc),
                error=self.window.show_error,
            )

    def _exported(self, name: str, doc: dict) -> None:
        skipped = doc["skipped"]
        self.window.notify(
            f"{name}: {doc['written']} sidecars written, {doc['merged']} merged, "
            f"{len(skipped)} skipped."
        )
        if skipped:
            lines = [f"{s['path']}: {s['error']}" for s in skipped[:SKIPPED_LISTED]]
            if len(skipped) > SKIPPED_LISTED:
                lines.append(f"…and {len(skipped) - SKIPPED_LISTED} more.")
            QMessageBox.warning(
                self.window,
                "Export tags",
                "These sidecars could not be read, so they were left as they are:\n"
                + "\n".join(lines),
            )

    def copy_photos(self, name: str) -> None:
        """Copy (or link) the album's photos into a folder the user picks."""
        folder = QFileDialog.getExistingDirectory(
            self.window, f"Copy the photos of {name} to…", pictures()
        )
        if not folder:
            return
        box = QMessageBox(QMessageBox.Icon.Question, f"Copy {name}", "", parent=self.window)
        box.setText(
            f"Copy the photos of {name} into {folder}, or link to them there? Either way is "
            "one-way: Fluffy keeps no record of the copies or links."
        )
        copy = box.addButton("Copy", QMessageBox.ButtonRole.AcceptRole)
        link = box.addButton("Link", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() in (copy, link):
            linking = box.clickedButton() is link
            self._report(
                lambda: self.album.copy_album(name, Path(folder), linking),
                lambda doc: (
                    f"{name}: {doc['copied']} photos {'linked' if linking else 'copied'}"
                    f" to {folder}, {len(doc['skipped'])} skipped."
                ),
            )

    def rename(self, name: str) -> None:
        new, ok = QInputDialog.getText(
            self.window, "Rename concept", f"New name for {name}:", QLineEdit.EchoMode.Normal, name
        )
        if ok and new.strip() and new.strip() != name:
            self._do(
                lambda: self.album.concepts.rename(name, new),
                f"Renamed {name} to {new.strip()}.",
                lambda concept: self._renamed_in_query(name, concept.name),
            )

    def _renamed_in_query(self, old: str, new: str) -> None:
        """The page of a renamed concept follows it; a search naming it is run with the new name."""
        if self.window.album_name == old:
            self.window.show_album(new)
            return
        query = self.window.query
        pattern = re.compile(rf"(?<!\w){re.escape(old)}(?!\w)", re.IGNORECASE)
        if pattern.search(query):
            self.window.search_bar.search_for(pattern.sub(new, query))

    def delete(self, name: str) -> None:
        answer = QMessageBox.question(
            self.window,
            "Delete concept",
            f"Delete {name}? Fluffy forgets the concept; your photos are not touched.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._do(lambda: self.album.concepts.remove(name), f"Deleted {name}.")

    def export(self, name: str) -> None:
        suggested = str(Path.home() / f"{name}.safetensors")
        file, _ = QFileDialog.getSaveFileName(
            self.window, f"Save {name} as a concept file", suggested, CONCEPT_FILES
        )
        if file:
            self._do(
                lambda: self.album.concepts.export(name, Path(file)), f"Exported {name} to {file}."
            )

    def import_file(self) -> None:
        home = str(Path.home())
        file, _ = QFileDialog.getOpenFileName(self.window, "Import a concept", home, CONCEPT_FILES)
        if file:
            self.import_path(Path(file))

    def import_path(self, file: Path) -> None:
        def work():
            return self.album.concepts.import_(file, self.album.clip().identity)

        self._do(work, f"Imported a concept from {file.name}.")
