"""The ``d2lbuild`` command line: a thin layer over the library API."""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .errors import BuildError, Stopped
from .stopping import between_steps, signal_name

if TYPE_CHECKING:
    from .pipeline import ExtractReport, NotebookReport

root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The book's root (the folder holding config.ini); default: the current folder.",
)


def _tabs(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    return tuple(part.strip() for part in value.split(",") if part.strip())


def reports_errors(command):
    """Turn BuildError and file-system errors into one line on stderr and exit 1. SIGINT, SIGTERM and SIGHUP only
    set a flag that the command checks between steps (``stopping``); it then exits with 130, 143 or 129 and one line
    (eval installs a flag of its own and writes its report first)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            with between_steps() as flag:
                result = command(*args, **kwargs)
                if flag.number is not None:  # came during the last step: what it wrote is complete
                    raise Stopped(flag.number)
                return result
        except BuildError as err:
            click.echo(str(err), err=True)
            sys.exit(1)
        except OSError as err:
            click.echo(file_error(err, kwargs.get("root") or (click.get_current_context().obj)), err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Stopped as stop:
            click.echo(f"stopped by {signal_name(stop.number)}", err=True)
            sys.exit(128 + stop.number)

    return wrapper


def file_error(err: OSError, root: Path | None) -> str:
    """``path: what is wrong`` for a file-system error, the path relative to the book's root when inside it."""
    path = err.filename2 or err.filename or "d2lbuild"  # a failed rename names its target second
    base = (root or Path.cwd()).resolve()
    try:
        path = Path(path).resolve().relative_to(base).as_posix()
    except (ValueError, OSError, TypeError):
        pass
    reason = err.strerror or str(err)
    return f"{path}: {reason[0].lower() + reason[1:] if reason else 'cannot be used'}"


def _root(ctx: click.Context, root: Path | None) -> Path:
    return (root or ctx.obj or Path.cwd()).resolve()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@root_option
@click.version_option(package_name="d2lbuild")
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """Build a multi-framework book: libraries, notebooks, and the proof that they run."""
    ctx.obj = root


@main.command()
@click.option("--tab", help="Only this tab (comma-separated list, or all). Default: every tab.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff when a library file is stale.")
@root_option
@click.pass_context
@reports_errors
def extract(ctx: click.Context, tab: str | None, check: bool, root: Path | None) -> None:
    """Write each tab's d2l library from the chapters' #@save blocks."""
    from .pipeline import extract as run_extract

    report = run_extract(_root(ctx, root), _tabs(tab), check=check)
    _show_extract(report)
    if check and report.diffs:
        click.echo("the committed library is stale: run `d2lbuild extract` and commit the result", err=True)
        sys.exit(1)


def _show_extract(report: ExtractReport) -> None:
    for warning in report.warnings:
        click.echo(warning, err=True)
    for line in report.summaries:
        click.echo(line)
    for diff in report.diffs:
        click.echo(diff, nl=False)


@main.command()
@click.option("--tab", help="Only this tab (comma-separated list, or all). Default: every tab.")
@root_option
@click.pass_context
@reports_errors
def notebooks(ctx: click.Context, tab: str | None, root: Path | None) -> None:
    """Write one notebook per section and tab under build/notebooks/TAB/."""
    from .pipeline import build_notebooks

    _show_notebooks(build_notebooks(_root(ctx, root), _tabs(tab)))


@main.command()
@click.option("--tab", help="Only this tab (comma-separated list, or all). Default: every tab.")
@root_option
@click.pass_context
@reports_errors
def build(ctx: click.Context, tab: str | None, root: Path | None) -> None:
    """extract, then notebooks, reading the chapters once (what `make notebooks` runs)."""
    from .pipeline import build as run_build

    extracted, written = run_build(_root(ctx, root), _tabs(tab))
    _show_extract(extracted)
    _show_notebooks(written, shown=set(extracted.warnings))


def _show_notebooks(report: NotebookReport, shown: AbstractSet[str] = frozenset()) -> None:
    for warning in report.warnings:
        if warning not in shown:
            click.echo(warning, err=True)
    if report.skipped:
        click.echo(f"notebooks: {len(report.unchanged)} up to date")
        return
    for path in report.written:
        click.echo(f"wrote {path}")
    for path in report.removed:
        click.echo(f"removed {path}")
    click.echo(f"notebooks: {len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed")


@main.command()
@root_option
@click.pass_context
@reports_errors
def check(ctx: click.Context, root: Path | None) -> None:
    """Check the chapters: sloppy input d2lbook accepts, committed outputs, undefined library names, tab parity;
    and, from each tab's last eval report, its slow sections and those skipped for want of GPUs."""
    from .eval_review import eval_notes
    from .pipeline import check_chapters

    report = check_chapters(_root(ctx, root))
    for warning in report.warnings:
        click.echo(warning, err=True)
    for error in report.errors:
        click.echo(error, err=True)
    _print_parity(report.parity, report.tabs)
    for line in eval_notes(_root(ctx, root), report.tabs):
        click.echo(line)
    if report.errors:
        click.echo(f"check: {len(report.errors)} errors", err=True)
        sys.exit(1)
    click.echo("check: no errors")


def _print_parity(rows, tabs: tuple[str, ...]) -> None:
    if not rows:
        click.echo("parity: every saved name exists in every tab")
        return
    click.echo(f"parity: {len(rows)} saved names are missing from some tabs")
    width = max(len(name) for name, _ in rows)
    click.echo("  " + "name".ljust(width) + "  " + "  ".join(tabs))
    for name, present in rows:
        marks = "  ".join(("yes" if present[tab] else "-").ljust(len(tab)) for tab in tabs)
        click.echo("  " + name.ljust(width) + "  " + marks)


@main.command()
@click.option("--tab", default=None, help="Tabs to prepare (comma-separated, or all). Default: every tab.")
@root_option
@click.pass_context
@reports_errors
def env(ctx: click.Context, tab: str | None, root: Path | None) -> None:
    """Create build/envs/TAB with the tab's requirements (nothing happens when nothing changed)."""
    from .booklock import book_lock
    from .config import load_config
    from .envs import ensure_environment
    from .pipeline import check_tabs

    config = load_config(_root(ctx, root))
    with book_lock(config.root, click.echo):  # an eval may be using the environment
        for name in check_tabs(config, _tabs(tab)):
            environment = ensure_environment(config, name, log=click.echo)
            if not environment.created:
                click.echo(f"env {name}: up to date ({environment.python})")


@main.command(name="eval")
@click.option("--tab", default=None, help="Tab to evaluate (comma-separated, or all). Default: the default tab.")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None, help="Notebooks run at once. Default: the CPUs this process may use.")
@click.option("--force", is_flag=True, help="Run every notebook, ignoring the cache.")
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default=None, help="Override config: cpu hides every GPU.")
@click.option("--gpus", default=None, help="GPU indices to use, comma-separated (default: what nvidia-smi lists).")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write JUnit XML here.")
@click.option("--cold", is_flag=True, help="Start every kernel as a new interpreter (no warm template; as preload = none).")
@click.option("--retry-failed", is_flag=True, help="Run again the notebooks whose failure is remembered (nothing they depend on changed).")
@click.option("--strict", is_flag=True, help="A notebook that needs more GPUs than the host has fails instead of being skipped.")
@click.option("--cluster", metavar="ADDRESS", default=None, help="Run notebooks on a Ray cluster: ray://HOST:10001, auto, HOST:PORT.")
@click.argument("sections", nargs=-1)
@root_option
@click.pass_context
@reports_errors
def eval_command(ctx, tab, jobs, force, device, gpus, junit, cold, retry_failed, strict, cluster, sections, root) -> None:
    """Execute the tab's notebooks against the library just extracted; exit 1 when one fails.

    SECTIONS (chapter paths or globs relative to the book, e.g. 'chapter_preliminaries/*') limits the run to
    those sections; every other section's result, cache entry and report line stays as it was.
    """
    import os

    from .config import load_config
    from .evaluate import EvalOptions, evaluate
    from .report import LiveProgress, PlainProgress, summary_lines, write_junit

    book_root = _root(ctx, root)
    tabs = _tabs(tab) or (load_config(book_root).default_tab,)
    live = sys.stdout.isatty() and not os.environ.get("CI")
    progress = (lambda total: LiveProgress(total, click.echo)) if live else (lambda total: PlainProgress(total, click.echo))
    gpu_list = tuple(g for g in gpus.split(",") if g.strip()) if gpus is not None else None
    options = EvalOptions(tabs=tabs, workers=jobs, force=force, device=device, gpus=gpu_list, cold=cold, sections=tuple(sections),
                          retry_failed=retry_failed, strict=strict, cluster=cluster)
    outcome = evaluate(book_root, options, progress, log=click.echo)
    click.echo("")
    for line in summary_lines(outcome.results):
        click.echo(line)
    if sections:
        click.echo(f"selected: {' '.join(sections)}; the other sections' results, cache entries and report lines are kept")
    if junit:
        write_junit(junit, outcome.results)
    for result in outcome.failed:
        again = " [remembered from an earlier run: nothing it depends on changed; --retry-failed runs it]" if result.remembered else ""
        click.echo(f"\nFAILED {result.reason}{again}", err=True)
        if result.traceback:
            click.echo(result.traceback, err=True)
    if outcome.stopped_by is not None:
        written = ", ".join(outcome.reports) + " written" if outcome.reports else "stopped before any notebook ran; no report written"
        click.echo(f"\nstopped by {signal.Signals(outcome.stopped_by).name}: {written}", err=True)
        sys.exit(128 + outcome.stopped_by)
    if outcome.failed:
        sys.exit(1)


@main.command()
@click.option("-j", "--jobs", type=click.IntRange(1), default=None, help="Sphinx processes. Default: the number of cores.")
@click.option("--site-only", is_flag=True, help="Write the MyST sources (build/site) without running Sphinx.")
@root_option
@click.pass_context
@reports_errors
def html(ctx: click.Context, jobs: int | None, site_only: bool, root: Path | None) -> None:
    """Build the book as a website in build/html from every tab's notebooks."""
    from .html.build import build_html
    from .layout import HTML_DIR

    report = build_html(_root(ctx, root), jobs, sphinx=not site_only)
    for warning in report.site.warnings + (report.sphinx.warnings if report.sphinx else []):
        click.echo(warning, err=True)
    click.echo(f"site: {len(report.site.pages)} pages, {len(report.site.written)} files written, {len(report.site.removed)} removed")
    if report.sphinx:
        click.echo(f"html: {HTML_DIR}/index.html; view it: python -m http.server -d {HTML_DIR}")


@main.command()
@click.option("--tab", default=None, help="Tabs to build (comma-separated, or all). Default: every tab.")
@root_option
@click.pass_context
@reports_errors
def pdf(ctx: click.Context, tab: str | None, root: Path | None) -> None:
    """Build one printable book per tab in build/pdf (Sphinx's LaTeX builder, xelatex through latexmk)."""
    from .pdf.build import build_pdf

    tabs = _tabs(tab)
    report = build_pdf(_root(ctx, root), None if tabs in (None, ("all",)) else tabs)
    shown: set[str] = set()
    for message in report.warnings + [message for book in report.books for message in book.warnings + book.errors]:
        if message not in shown:
            shown.add(message)
            click.echo(message, err=True)
    for book in report.books:
        counts = f"{book.pages} sections, {book.written} files written, {len(book.errors)} LaTeX errors"
        click.echo(f"pdf {book.tab}: {book.pdf or 'not written'} ({counts})")
    if report.errors:
        sys.exit(1)


@main.command()
@click.argument("chapter", type=click.Path(path_type=Path))
@click.option("--tab", default=None, help="The framework whose notebook to write. Default: the default tab.")
@click.option("--force", is_flag=True, help="Overwrite an exported notebook that holds edits not synced yet.")
@root_option
@click.pass_context
@reports_errors
def edit(ctx: click.Context, chapter: Path, tab: str | None, force: bool, root: Path | None) -> None:
    """Write build/edit/TAB/CHAPTER.ipynb: the chapter as one framework's notebook, to edit in Jupyter."""
    from .edit import edit as run_edit

    report = run_edit(_root(ctx, root), chapter, tab, force, warn=lambda line: click.echo(line, err=True))
    state = "wrote" if report.written else "unchanged"
    click.echo(f"{state} {report.notebook} (kernel {report.kernel}); `d2lbuild sync` writes its edits back")


@main.command()
@click.argument("chapters", nargs=-1, type=click.Path(path_type=Path))
@click.option("--tab", default=None, help="Only these tabs' notebooks (comma-separated). Default: every tab.")
@click.option("--split", is_flag=True, help="An edited or deleted shared block becomes framework-specific instead.")
@click.option("--from-library", "from_library", is_flag=True, help="Bring edits of d2l/*.py back to the chapter blocks they came from.")
@root_option
@click.pass_context
@reports_errors
def sync(ctx: click.Context, chapters: tuple[Path, ...], tab: str | None, split: bool, from_library: bool, root: Path | None) -> None:
    """Write the edits of the notebooks under build/edit/ (or of the library) back into the chapters."""
    from .sync import sync as run_sync

    if from_library:
        from .library_sync import sync_from_library

        results = sync_from_library(_root(ctx, root), _tabs(tab), split)
    else:
        results = run_sync(_root(ctx, root), list(chapters), _tabs(tab), split)
    for result in results:
        for warning in result.warnings:
            click.echo(warning, err=True)
        if result.warnings:
            continue
        for note in result.notes:
            click.echo(note)
        for conflict in result.conflicts:
            click.echo(conflict, err=True)
        state = "written" if result.written else "unchanged"
        click.echo(f"{result.chapter}: {state} ({', '.join(result.tabs)}; {result.changed_cells} cells changed)")
    if not results:
        click.echo("sync: nothing to sync")
    if any(result.conflicts for result in results):
        sys.exit(1)
