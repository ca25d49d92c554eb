"""Write the site's sources under build/site: one MyST page per section, conf.py, assets, notebooks to download.

Pages are made from the notebooks the earlier stages wrote (build/eval/TAB, else build/notebooks/TAB);
only the toc order and the chapter lines (to place Markdown lines) come from the chapters.
Every file is written only when its content changed, so that Sphinx rebuilds only what changed.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath

from .. import __version__
from ..config import Config, load_config
from ..errors import BuildError
from ..formats import chapter_stem, is_markdown
from ..fsutil import write_atomic, write_if_changed
from ..hashing import FULL_LENGTH, digest, digest_of
from ..layout import PAGE_SUFFIX, READING_ORDER, SITE_DIR, eval_path, notebook_path
from ..pipeline import READING_ORDER_STORE
from ..stopping import checkpoint
from ..stores import StoreType, is_str_map
from ..workspace import resource_files
from .api import API_FILE, api_json
from .markup import Converted, Reference, citation_keys, reference_label
from .merge import Line, Page, Prose, SectionNotebooks, merge
from .outputs import image_name
from .published import Service, for_service, published, services
from .published import dumps as notebook_text
from .render import PageLinks, display_name, render_page

OUTPUTS_DIR = "_outputs"
EXTRA_DIR = "_extra"
NOTEBOOKS_URL = "notebooks"
CACHE_NAME = ".pages.json"
STATIC_DIR = "static"
TEMPLATES_DIR = "_templates"
TEMPLATES = ("layout.html", "search-button-field.html", "sidebar-nav-bs.html")  # the theme's page, search button and sidebar
LINKED = re.compile(r"""(?:src|href)\s*=\s*["']([^"'#?]+)""", re.IGNORECASE)
BIB_KEY = re.compile(r"@\w+\s*[{(]\s*([^,\s]+)\s*,")


@dataclass(frozen=True)
class HtmlSettings:
    """The site's settings from config.ini: d2lbook's keys, plus ``[html] edit_url`` and ``mathjax_path``."""

    title: str
    author: str
    copyright: str
    bibfile: str | None
    edit_url: str | None
    mathjax_path: str | None = None
    services: tuple[Service, ...] = ()  # [colab] and [sagemaker]
    header_links: tuple[tuple[str, str, str], ...] = ()  # [html] header_links: (name, URL, icon classes)
    logo: str | None = None  # [html] html_logo, favicon, include_css: files of the book
    favicon: str | None = None
    include_css: tuple[str, ...] = ()


@dataclass
class SiteReport:
    """What writing the site's sources did."""

    pages: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: dict[str, tuple[str, list[int]]] = field(default_factory=dict)  # page file -> chapter, chapter line of each line
    extra: dict[str, str] = field(default_factory=dict)  # file served as it is (under _extra) -> digest of what it is made from


def html_settings(config: Config) -> HtmlSettings:
    """The site's settings, from the parsed config (the schema's ``[project]``, ``[html]`` and services keys)."""
    get = config.value
    author = get("project", "author")
    return HtmlSettings(
        title=get("project", "title") or config.given("project", "name") or "Book",
        author=author,
        copyright=get("project", "copyright") or author,
        bibfile=get("html", "bibfile") or get("pdf", "bibfile") or None,
        edit_url=get("html", "edit_url") or None,
        mathjax_path=get("html", "mathjax_path") or None,
        services=services(config.value, get("project", "release") or None),
        header_links=header_links(get("html", "header_links")),
        logo=get("html", "html_logo") or None,
        favicon=get("html", "favicon") or None,
        include_css=tuple(get("html", "include_css").split()),
    )


def header_links(value: str) -> tuple[tuple[str, str, str], ...]:
    """d2lbook's header links: name, URL, icon triples separated by commas; entries with placeholders
    (``###...###``, filled in by d2l-en's own deploy script) are left out."""
    fields = [part.strip() for part in value.replace("\n", " ").split(",")]
    triples = [tuple(fields[i : i + 3]) for i in range(0, len(fields) - 2, 3)]
    return tuple((name, url, icon) for name, url, icon in triples if name and url and "###" not in name + url)


def page_name(chapter: str) -> str:
    """The site page of a chapter file: its path without the suffix (Sphinx's docname)."""
    return chapter_stem(chapter)


def sections(config: Config) -> tuple[list[str], list[str]]:
    """The chapters in toc order, and the notebook files no toc reaches (orphan pages), as notebooks recorded them."""
    data = READING_ORDER_STORE.read(config.root / READING_ORDER)
    if data is None:
        raise BuildError(READING_ORDER, "missing or unreadable; run d2lbuild notebooks first")
    return [str(path) for path in data["order"]], [str(path) for path in data["orphans"]]


def load_section(root: Path, tabs: tuple[str, ...], chapter: str) -> SectionNotebooks:
    """Each tab's notebook of a section: the evaluated one when it matches the current notebook."""
    notebooks, executed = {}, set()
    for tab in tabs:
        fresh = _read_json(root, notebook_path(tab, chapter))
        evaluated = _read_json(root, eval_path(tab, chapter))
        if evaluated is not None and (fresh is None or _same_code(fresh, evaluated)):
            notebooks[tab], _ = evaluated, executed.add(tab)
        elif fresh is not None:
            notebooks[tab] = fresh
    lines = None
    if is_markdown(chapter):
        lines = tuple((root / chapter).read_text(encoding="utf-8", errors="replace").split("\n"))
    return SectionNotebooks(chapter, tabs, notebooks, frozenset(executed), lines)


def _same_code(fresh: dict, evaluated: dict) -> bool:
    def cells(notebook: dict):
        return [(c.get("cell_type"), "".join(c.get("source", []))) for c in notebook.get("cells", [])]

    return cells(fresh) == cells(evaluated)


def _read_json(root: Path, relpath: str) -> dict | None:
    try:
        notebook = json.loads((root / relpath).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise BuildError(relpath, f"not a readable notebook: {err}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells", []), list):
        raise BuildError(relpath, "not a readable notebook: no list of cells")
    return notebook


def chapter_page(chapter: str, text: str, tabs: tuple[str, ...]) -> Page:
    """A page for a chapter without any notebook: its Markdown as shared prose."""
    lines = tuple(Line(number, line) for number, line in enumerate(text.split("\n"), 1))
    return Page(chapter, (), (), (), (Prose(lines),))


class SiteWriter:
    """Writes build/site for a book; collects what changed and the warnings."""

    def __init__(self, root: Path, config: Config | None = None):
        self.root = root
        self.config = config or load_config(root)
        self.settings = html_settings(self.config)
        self.site = root / SITE_DIR
        self.report = SiteReport()
        self.kept: set[Path] = set()
        self.page_files: list[str] = []
        self.making: str | None = None  # while a page is made: the digest of its inputs
        self.cache = _PageCache(self.site / CACHE_NAME)

    def write(self) -> SiteReport:
        order, orphans = sections(self.config)
        bib_keys = self.bibliography()
        index_page = order[0]
        numbered = ":numbered:" not in (self.root / index_page).read_text(encoding="utf-8", errors="replace")
        found: list[tuple[str, Converted]] = []
        for chapter in order + orphans:
            checkpoint()
            rendered = self.page(chapter, numbered and chapter == index_page, chapter in orphans, bib_keys is not None)
            found.extend((chapter, converted) for converted in rendered)
        if bib_keys is not None and not any(converted.bibliography for _, converted in found):
            self.emit("_references.md", "---\norphan: true\n---\n\n# References\n\n```{bibliography}\n:all:\n```\n")
        self.check_references(found, bib_keys)
        self.copy_images(found)
        self.copy_included_files(found)
        self.publish_resources()
        self.emit("conf.py", self.conf(page_name(index_page), bib_keys is not None))
        self.emit(API_FILE, api_json(self.config))
        if page_name(index_page) != "index":
            self.emit(f"{EXTRA_DIR}/index.html", _redirect(page_name(index_page) + ".html"))
        self.assets()
        self.remove_stale()
        self.cache.save()
        return self.report

    def page(self, chapter: str, numbered: bool, orphan: bool, citations: bool) -> list[Converted]:
        """Write a section's page, unless the inputs it was last made from are unchanged and its files exist."""
        key = self.page_key(chapter, (numbered, orphan, citations))
        cached = self.cache.get(chapter, key)
        if cached is not None and all((self.site / relpath).is_file() for relpath in cached[0]):
            files, found, numbers = cached
            self.kept.update(self.site / relpath for relpath in files)
            self.report.extra.update((relpath, key) for relpath in files if relpath.startswith(EXTRA_DIR + "/"))
            self.report.pages.append(chapter)
        else:
            self.page_files, self.making = [], key
            found, numbers = self.make_page(chapter, numbered, orphan, citations)
            self.cache.put(chapter, key, self.page_files, found, numbers)
            self.making = None
        if numbers:
            self.report.sources[page_name(chapter) + PAGE_SUFFIX] = (chapter, numbers)
        return found

    def make_page(self, chapter: str, numbered: bool, orphan: bool, citations: bool) -> tuple[list[Converted], list[int]]:
        """Write a page; return what its prose defines and refers to, and the chapter line of each page line."""
        section = load_section(self.root, self.config.tabs, chapter)
        if section.notebooks:
            page = merge(section)
        elif is_markdown(chapter):
            page = chapter_page(chapter, (self.root / chapter).read_text(encoding="utf-8", errors="replace"), self.config.tabs)
        else:
            return [], []
        rendered = render_page(page, self.links(chapter, page, section), self.save_image, numbered, citations)
        front = "---\norphan: true\n---\n\n" if orphan else ""
        self.emit(page_name(chapter) + PAGE_SUFFIX, front + rendered.text)
        self.report.pages.append(chapter)
        return rendered.found, [1] * front.count("\n") + rendered.line_numbers

    def page_key(self, chapter: str, flags: tuple[bool, ...]) -> str:
        """A digest of everything a page is made from: the chapter, each tab's notebooks, settings, this code."""
        relpaths = [chapter] + [path for tab in self.config.tabs for path in (notebook_path(tab, chapter), eval_path(tab, chapter))]
        parts = [repr((_code_digest(), self.config.tabs, self.settings, flags))]
        for relpath in relpaths:
            try:
                parts += [relpath, (self.root / relpath).read_bytes()]
            except OSError:
                parts += [relpath, "-"]
        return digest(*parts, length=FULL_LENGTH)

    def links(self, chapter: str, page: Page, section: SectionNotebooks | None = None) -> PageLinks:
        """Publish the page's notebooks (to download, and for each notebook service); return the page's links."""
        up = "../" * chapter.count("/")
        notebooks, services = [], []
        for tab in page.tabs:
            notebook = section.notebooks.get(tab) if section is not None else _read_json(self.root, notebook_path(tab, chapter))
            if notebook is None:
                continue
            relpath = f"{NOTEBOOKS_URL}/{tab}/{page_name(chapter)}.ipynb"
            self.emit(f"{EXTRA_DIR}/{relpath}", notebook_text(published(notebook)))
            notebooks.append((tab, up + relpath))
            for service in self.settings.services:
                url = service.link(tab, page_name(chapter))
                if url is not None:
                    target = f"{EXTRA_DIR}/{service.key}/{tab}/{page_name(chapter)}.ipynb"
                    self.emit(target, notebook_text(for_service(notebook, service, tab)))
                    services.append((tab, service.label, url))
        if self.settings.edit_url:
            edit = self.settings.edit_url.rstrip("/") + "/" + chapter
        else:
            edit = None  # a read-only copy is no edit link
        return PageLinks(tuple(notebooks), edit, tuple(services))

    def publish_resources(self) -> None:
        """The data the notebooks read (``[build] resources``), beside each tab's published notebooks."""
        folders = [NOTEBOOKS_URL] + [service.key for service in self.settings.services]
        files = resource_files(self.config)
        for tab in self.config.tabs:
            for folder in folders:
                if not self._published_any(folder, tab):
                    continue
                for relpath, source in files.items():
                    self.copy(source, f"{EXTRA_DIR}/{folder}/{tab}/{relpath}")

    def _published_any(self, folder: str, tab: str) -> bool:
        prefix = f"{EXTRA_DIR}/{folder}/{tab}/"
        return any(relpath.startswith(prefix) for relpath in self.report.extra)

    def save_image(self, extension: str, payload: bytes) -> str:
        name = image_name(extension, payload)
        path = self.site / OUTPUTS_DIR / name
        self.kept.add(path)
        self.page_files.append(f"{OUTPUTS_DIR}/{name}")
        if not path.is_file():
            write_atomic(path, payload)
            self.report.written.append(f"{OUTPUTS_DIR}/{name}")
        return f"/{OUTPUTS_DIR}/{name}"

    def emit(self, relpath: str, text: str) -> None:
        path = self.site / relpath
        self.kept.add(path)
        self.page_files.append(relpath)
        self.note_extra(relpath, text.encode("utf-8"))
        if write_if_changed(path, text):
            self.report.written.append(relpath)

    def note_extra(self, relpath: str, payload: bytes) -> None:
        """Record what a file served as it is was made from: its page's inputs, else its content."""
        if relpath.startswith(EXTRA_DIR + "/"):
            self.report.extra[relpath] = self.making or digest(payload)

    def emit_bytes(self, relpath: str, payload: bytes) -> None:
        target = self.site / relpath
        self.kept.add(target)
        self.note_extra(relpath, payload)
        if not target.is_file() or target.read_bytes() != payload:
            write_atomic(target, payload)
            self.report.written.append(relpath)

    def copy(self, source: Path, relpath: str) -> None:
        target = self.site / relpath
        self.kept.add(target)
        self.page_files.append(relpath)
        try:
            payload = source.read_bytes()
        except OSError:
            return
        self.note_extra(relpath, payload)
        if not target.is_file() or target.read_bytes() != payload:
            write_atomic(target, payload)
            self.report.written.append(relpath)

    def bibliography(self) -> set[str] | None:
        """The citation keys of the book's .bib file, or None when it has none."""
        name = self.settings.bibfile
        if not name:
            return None
        path = self.root / name
        if not path.is_file():
            self.report.warnings.append(f"config.ini: warning: bibfile {name} not found; citations are shown as plain keys")
            return None
        self.copy(path, name)
        return set(BIB_KEY.findall(path.read_text(encoding="utf-8", errors="replace")))

    def check_references(self, found: list[tuple[str, Converted]], bib_keys: set[str] | None) -> None:
        """Warn, at the chapter line, about labels defined twice and references that name nothing.

        Without a bibliography file (one warning already says so) citations are not checked one by one.
        """
        labels: dict[str, str] = {}
        equations: set[str] = set()
        unnumbered = {label for _, converted in found for label in converted.unnumbered}
        for chapter, converted in found:
            for label, line in converted.labels:
                if label in labels and labels[label] != f"{chapter}:{line}":
                    self.warn(chapter, line, f"label {label} is also defined at {labels[label]}")
                labels.setdefault(label, f"{chapter}:{line}")
            equations.update(label for label, _ in converted.equations)
        for chapter, converted in found:
            for ref in converted.references:
                if ref.role in ("cite", "citet", "citep"):
                    if bib_keys is None:
                        continue
                    missing = [key for key in citation_keys(ref.target) if key not in bib_keys]
                    if missing:
                        self.warn(chapter, ref.line, f":{ref.role}:`{ref.target}`: no bibliography entry {', '.join(missing)}")
                elif ref.role == "eqref":
                    if reference_label(ref.target) not in equations:
                        self.warn(chapter, ref.line, f":eqref:`{ref.target}` names no equation label")
                elif reference_label(ref.target) not in labels:
                    self.warn(chapter, ref.line, f":{ref.role}:`{ref.target}` names no label")
                elif reference_label(ref.target) in unnumbered:
                    where = labels[reference_label(ref.target)]
                    self.warn(chapter, ref.line, f":{ref.role}:`{ref.target}` names a paragraph label ({where}): no number")

    def warn(self, chapter: str, line: int, message: str) -> None:
        warning = f"{chapter}:{line}: warning: {message}"
        if warning not in self.report.warnings:
            self.report.warnings.append(warning)

    def copy_images(self, found: list[tuple[str, Converted]]) -> None:
        """Copy the image files the prose shows, at the same place relative to the page.

        A missing image gets a placeholder in its place: Sphinx re-reads every page that depends on a file
        that does not exist, on every build; the placeholder is replaced as soon as the image appears.
        """
        for chapter, converted in found:
            folder = PurePosixPath(chapter).parent
            for src, line in converted.images:
                if "://" in src or src.startswith("data:"):
                    continue
                relpath = _normalise(folder / src)
                if relpath is None:
                    self.warn(chapter, line, f"image {src} is outside the book")
                elif not (self.root / relpath).is_file():
                    self.warn(chapter, line, f"image {src} not found")
                    self.emit_bytes(relpath, missing_image(relpath))
                else:
                    self.copy(self.root / relpath, relpath)

    def copy_included_files(self, found: list[tuple[str, Converted]]) -> None:
        """Copy the files raw directives read (d2l-en's front page), and the files their HTML links to.

        A file is looked for next to the chapter, then anywhere under the book's ``static/`` folder (where
        d2lbook books keep it). A missing one is a warning and an empty stand-in, as for images.
        """
        for chapter, converted in found:
            folder = PurePosixPath(chapter).parent
            for name, line in converted.files:
                relpath = _normalise(folder / name)
                if relpath is None or "://" in name:
                    self.warn(chapter, line, f"file {name} is outside the book")
                    continue
                source = self.root / relpath if (self.root / relpath).is_file() else self.find_static(name)
                if source is None:
                    self.warn(chapter, line, f"file {name} not found (looked next to the chapter and under {STATIC_DIR}/)")
                    self.emit(relpath, f"<!-- {html.escape(name)} not found -->\n")
                    continue
                self.copy(source, relpath)
                if source.suffix.lower() in (".html", ".htm"):
                    self.copy_linked(source, folder)

    def find_static(self, name: str) -> Path | None:
        """The first file of that name under the book's static/ folder."""
        found = sorted((self.root / STATIC_DIR).rglob(PurePosixPath(name).name))
        return next((path for path in found if path.is_file()), None)

    def copy_linked(self, page: Path, folder: PurePosixPath) -> None:
        """Serve the files an HTML fragment links to (relative src and href) at the same place relative to its page."""
        text = page.read_text(encoding="utf-8", errors="replace")
        for url in sorted(set(LINKED.findall(text))):
            if "://" in url or url.startswith(("/", "#", "data:", "mailto:", "javascript:")):
                continue
            source = page.parent / url
            target = _normalise(folder / url)
            if target is not None and source.is_file() and self.root.resolve() in source.resolve().parents:
                self.copy(source, f"{EXTRA_DIR}/{target}")

    def conf(self, root_doc: str, bibliography: bool) -> str:
        from .sphinx_conf import conf_text

        names = {tab: display_name(tab) for tab in self.config.tabs}
        settings = dataclasses.replace(
            self.settings,
            logo=self.book_file("html_logo", self.settings.logo),
            favicon=self.book_file("favicon", self.settings.favicon),
            include_css=tuple(name for name in self.settings.include_css if self.book_file("include_css", name, "_static/")),
        )
        return conf_text(settings, root_doc, settings.bibfile if bibliography else None, names)

    def book_file(self, key: str, name: str | None, folder: str = "") -> str | None:
        """Copy a file that [html] names into the site (under ``folder``); None, with a warning, when it is missing."""
        if not name:
            return None
        relpath = _normalise(PurePosixPath(name))
        if relpath is None or not (self.root / relpath).is_file():
            self.report.warnings.append(f"config.ini: warning: [html] {key}: {name} not found")
            return None
        target = folder + (PurePosixPath(relpath).name if folder else relpath)
        self.copy(self.root / relpath, target)
        return PurePosixPath(relpath).name if folder else relpath

    def assets(self) -> None:
        folder = resources.files("d2lbuild.html") / "assets"
        tabs = json.dumps(list(self.config.tabs))
        names = json.dumps({tab: display_name(tab) for tab in self.config.tabs})
        script = (folder / "d2l-tabs.js").read_text(encoding="utf-8").replace("__TABS__", tabs).replace("__NAMES__", names)
        self.emit("_static/d2l-tabs.js", script)
        self.emit("_static/d2l.css", (folder / "d2l.css").read_text(encoding="utf-8"))
        for template in TEMPLATES:
            self.emit(f"{TEMPLATES_DIR}/{template}", (folder / template).read_text(encoding="utf-8"))

    def remove_stale(self) -> None:
        """Remove files this build did not write (deleted sections, old outputs); Sphinx's state is kept."""
        if not self.site.is_dir():
            return
        for path in sorted(self.site.rglob("*")):
            if path.is_file() and path not in self.kept and not path.name.startswith("."):
                path.unlink()
                self.report.removed.append(path.relative_to(self.site).as_posix())


PAGE_CACHE_STORE = StoreType("site-pages", 1, lambda data: is_str_map(data, dict), compact=True)


class _PageCache:
    """Per page: the digest of its inputs, the files it wrote, and what its prose defines and cites."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, dict] = PAGE_CACHE_STORE.read(path) or {}
        self.fresh: dict[str, dict] = {}

    def get(self, chapter: str, key: str) -> tuple[list[str], list[Converted], list[int]] | None:
        entry = self.data.get(chapter)
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        try:
            found = [_converted(found) for found in entry["found"]]
            files, numbers = list(entry["files"]), [int(number) for number in entry["lines"]]
        except (KeyError, TypeError, ValueError):
            return None
        self.fresh[chapter] = entry
        return files, found, numbers

    def put(self, chapter: str, key: str, files: list[str], found: list[Converted], numbers: list[int]) -> None:
        found_data = [_found(converted) for converted in found]
        self.fresh[chapter] = {"key": key, "files": sorted(set(files)), "found": found_data, "lines": numbers}

    def save(self) -> None:
        PAGE_CACHE_STORE.write_if_changed(self.path, self.fresh)


def _found(converted: Converted) -> dict:
    data = dataclasses.asdict(converted)
    data.pop("text")
    data.pop("line_numbers")
    return data


def _converted(data: dict) -> Converted:
    references = [Reference(**reference) for reference in data["references"]]
    tuples = {name: [tuple(item) for item in data[name]] for name in ("labels", "equations", "images", "files")}
    return Converted("", references=references, unnumbered=data["unnumbered"], bibliography=data["bibliography"], **tuples)


@functools.cache
def _code_digest() -> str:
    """The html package's own source: a new version of the page writer makes every page again."""
    folder = Path(__file__).parent
    files = [path for path in sorted(folder.rglob("*")) if path.is_file() and path.suffix in (".py", ".js", ".css", ".html")]
    return digest_of([__version__, *(part for path in files for part in (path.name, path.read_bytes()))], length=FULL_LENGTH)


def missing_image(relpath: str) -> bytes:
    """What stands in for an image that is not there: an SVG that says so, or a grey PNG for other types."""
    if relpath.lower().endswith(".svg"):
        name = html.escape(relpath)
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="80" viewBox="0 0 320 80">'
            '<rect width="320" height="80" fill="#eee" stroke="#999"/>'
            f'<text x="160" y="45" font-family="sans-serif" font-size="12" text-anchor="middle" fill="#555">missing: {name}</text>'
            "</svg>\n"
        ).encode()
    return _grey_png(320, 80)


def _grey_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\0" + b"\xee" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _redirect(target: str) -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0; url={target}"><title>Redirect</title></head>'
        f'<body><a href="{target}">{target}</a></body></html>\n'
    )


def _normalise(path: PurePosixPath) -> str | None:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def write_site(root: Path, config: Config | None = None) -> SiteReport:
    """Write build/site from the book's notebooks; return what changed and the warnings."""
    return SiteWriter(root, config).write()

