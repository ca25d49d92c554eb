"""A Jupyter contents manager that opens a book's Markdown chapters as one framework's notebooks and saves
them back through ``sync`` (the optional extra ``d2lbuild[jupyter]``).

Start a server in the book's root with it::

    jupyter lab --ServerApp.contents_manager_class=d2lbuild.jupyter.BookContentsManager \\
        --BookContentsManager.tab=pytorch

``chapters/x.md`` then opens as a notebook when asked for one (``GET /api/contents/chapters/x.md?type=notebook``),
and as ``chapters/x.ipynb``, listed beside it, which JupyterLab opens as any notebook.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from jupyter_server.services.contents.largefilemanager import LargeFileManager
from tornado import web
from traitlets import Bool, Unicode

from .config import Config, load_config
from .edit import export, load_notebook, read_chapter
from .errors import BuildError
from .formats import MARKDOWN, NOTEBOOK_SUFFIX, chapter_stem, is_markdown
from .fsutil import write_if_changed
from .layout import EDIT_SERVER_DIR, edit_path
from .notebook import dumps
from .pipeline import check_tabs
from .sync import refreshed, sync_chapter, write_chapter

VIRTUAL_SUFFIX = NOTEBOOK_SUFFIX


class BookContentsManager(LargeFileManager):
    """Chapters open as notebooks of ``tab``; saving one writes its edits back into the chapter."""

    tab = Unicode("", config=True, help="The framework a chapter opens as (default: the book's default tab).")
    split = Bool(False, config=True, help="Saving an edited shared block makes it the framework's own (sync --split).")

    # --- which paths are chapters ---

    def _config(self) -> Config | None:
        root = Path(self.root_dir)
        return load_config(root) if (root / "config.ini").is_file() else None

    def _chapter(self, path: str, kind: str | None) -> str | None:
        """The chapter ``path`` opens as a notebook: ``x.md`` asked for as a notebook, or ``x.ipynb`` beside ``x.md``."""
        path = path.strip("/")
        root = Path(self.root_dir)
        if is_markdown(path) and kind == "notebook" and (root / path).is_file():
            chapter = path
        elif path.endswith(VIRTUAL_SUFFIX) and kind in (None, "notebook") and not (root / path).exists():
            chapter = path[: -len(VIRTUAL_SUFFIX)] + MARKDOWN.extension
            if not (root / chapter).is_file():
                return None
        else:
            return None
        return chapter if (root / "config.ini").is_file() else None

    def _tab(self, config: Config) -> str:
        return check_tabs(config, (self.tab,))[0] if self.tab else config.default_tab

    def _record(self, config: Config, tab: str, chapter: str) -> Path:
        return config.root / edit_path(tab, chapter, EDIT_SERVER_DIR)

    # --- the contents API ---

    def file_exists(self, path: str = "") -> bool:
        return self._chapter(path, None) is not None or super().file_exists(path)

    def get(self, path, content=True, type=None, format=None, **kwargs):
        chapter = self._chapter(path, type)
        if chapter is None:
            model = super().get(path, content=content, type=type, format=format, **kwargs)
            if model["type"] == "directory" and model.get("content") is not None:
                model["content"].extend(self._listed(model))
            return model
        try:
            return self._chapter_model(path, chapter, content)
        except BuildError as err:
            raise web.HTTPError(400, str(err)) from None

    def _chapter_model(self, path: str, chapter: str, content: bool) -> dict:
        model = self._base_model(chapter)
        model.update(name=Path(path).name, path=path.strip("/"), type="notebook")
        if content:
            config = self._config()
            tab = self._tab(config)
            notebook = export(config, read_chapter(config, chapter), tab)
            write_if_changed(self._record(config, tab, chapter), dumps(notebook))
            model["content"] = nbformat.from_dict(notebook)
            model["format"] = "json"
            self.mark_trusted_cells(model["content"], path)
            self.validate_notebook_model(model)
        return model

    def _listed(self, directory: dict) -> list[dict]:
        """``x.ipynb`` for each chapter ``x.md`` of the folder (when no such notebook exists)."""
        if not (Path(self.root_dir) / "config.ini").is_file():
            return []
        names = {entry["name"] for entry in directory["content"]}
        extra = []
        for entry in directory["content"]:
            virtual = chapter_stem(entry["name"]) + VIRTUAL_SUFFIX
            if entry["type"] == "file" and is_markdown(entry["name"]) and virtual not in names:
                path = f"{directory['path']}/{virtual}".strip("/")
                extra.append({**entry, "name": virtual, "path": path, "type": "notebook", "mimetype": None, "format": None})
        return extra

    # checkpoints of a chapter's notebook are checkpoints of the chapter file
    def _checkpointed(self, path: str) -> str:
        return self._chapter(path, None) or path

    def create_checkpoint(self, path):
        return super().create_checkpoint(self._checkpointed(path))

    def list_checkpoints(self, path):
        return super().list_checkpoints(self._checkpointed(path))

    def restore_checkpoint(self, checkpoint_id, path):
        return super().restore_checkpoint(checkpoint_id, self._checkpointed(path))

    def delete_checkpoint(self, checkpoint_id, path):
        return super().delete_checkpoint(checkpoint_id, self._checkpointed(path))

    def save(self, model, path=""):
        chapter = self._chapter(path, model.get("type"))
        if chapter is None:
            return super().save(model, path)
        if model.get("content") is None:
            raise web.HTTPError(400, "no notebook content provided")
        try:
            self._save_chapter(chapter, json.loads(json.dumps(model["content"])))
        except BuildError as err:
            raise web.HTTPError(409 if "conflict" in str(err) else 400, str(err)) from None
        return self._chapter_model(path, chapter, content=False)

    @staticmethod
    def _stored_record(record: Path) -> dict | None:
        """The notebook as the server last exported it; None when missing or damaged (exported again)."""
        try:
            return load_notebook(record, record.name)
        except BuildError:
            return None

    def _save_chapter(self, chapter: str, notebook: dict) -> None:
        """Sync the saved notebook into the chapter; a conflict writes markers there and is an error."""
        config = self._config()
        tab = self._tab(config)
        record = self._record(config, tab, chapter)
        base = self._stored_record(record) or export(config, read_chapter(config, chapter), tab)
        result, original, text = sync_chapter(config, chapter, {tab: notebook}, self.split, bases={tab: base})
        write_chapter(config, chapter, original, text)
        for note in result.notes:
            self.log.info(note)
        if result.conflicts:
            raise BuildError(chapter, "; ".join(result.conflicts))
        write_if_changed(record, dumps(refreshed(config, chapter, text, tab, notebook)))
