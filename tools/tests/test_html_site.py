"""The site built by Sphinx from the sample book, and read in a real browser (headless Chromium).

Skipped when the html extra (Sphinx) is not installed, and the browser part when Chromium, its driver or
selenium is missing (`.ci/run` installs them). Screenshots go to build/test-artefacts/html/.
"""

from __future__ import annotations

import ast
import base64
import functools
import html
import http.server
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
from conftest import BOOKS, TESTS

pytest.importorskip("sphinx", reason="the html extra is not installed (pip install 'd2lbuild[html]')")
pytest.importorskip("myst_parser", reason="the html extra is not installed (pip install 'd2lbuild[html]')")

from d2lbuild.html.build import build_html  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# axe-core from the npm registry, installed by `make tools-html` (never fetched by the tests).
AXE = TESTS.parents[1] / "build" / "node" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (400, 1024, 1400)
ARTEFACTS = TESTS.parents[1] / "build" / "test-artefacts" / "html"
# A 2x2 red PNG, as a plotting cell's output.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73000000"
    "1649444154789c63f8cfc0f09f8181e13f03c3ff0c0c000041f007f9ce5e9a3c0000000049454e44ae426082")).decode()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("html") / "book"
    shutil.copytree(BOOKS / "site", root)
    build_html(root, sphinx=False)  # notebooks first, then an evaluated PyTorch notebook with a figure
    notebook = json.loads((root / "build/notebooks/pytorch/chapter_start/plots.ipynb").read_text())
    code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "plot with torch\n"},
        {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "<Figure>"}, "metadata": {}},
    ]
    evaluated = root / "build/eval/pytorch/chapter_start/plots.ipynb"
    evaluated.parent.mkdir(parents=True)
    evaluated.write_text(json.dumps(notebook))
    report = build_html(root, jobs=1)
    assert report.site.warnings == []
    assert report.sphinx is not None and report.sphinx.warnings == []
    return root / "build/html"


def test_pages_have_numbers_tabs_and_no_role_text(site: Path):
    tensors = (site / "chapter_start/tensors.html").read_text()
    text = re.sub(r"<[^>]+>", "", tensors)
    for role in ("numref", "eqref", "cite", "citet", "label", "eqlabel", "width", "begin_tab", "ref"):
        assert f":{role}:" not in text
    assert "Fig. 1.1.1" in text  # :numref:`fig_pipeline`, numbered per section as d2lbook does
    assert "Section 1.2" in text  # :numref:`sec_plots`
    assert "(1.1.1)" in text  # :eqref:`eq_norm`
    assert "Smith and Jones (2020)" in text  # :citet:
    assert 'data-sync-group="framework"' in tensors and 'data-sync-id="tensorflow"' in tensors
    # the framework-specific code and the tab prose after it make one tab set: MXNet's tab shows its code only
    assert tensors.count('class="sd-tab-set') == 1 and "Not available in" not in text
    assert "d2l-tabs.js" in tensors
    plots = (site / "chapter_start/plots.html").read_text()
    assert re.search(r'<img [^>]*src="\.\./_images/[0-9a-f]+\.png"', plots)
    # alternative texts: the caption, not the file's path; a figure drawn by code says so
    assert re.search(r'<img alt="The pipeline from chapters to pages\." src="\.\./_images/pipeline\.svg"', tensors)
    assert re.search(r'<img alt="Figure drawn by the code above" class="output-image', plots)
    assert (site / "notebooks/tensorflow/chapter_start/plots.ipynb").is_file()
    assert (site / "index.html").is_file() and (site / "_references.html").is_file()
    references = re.sub(r"<[^>]+>", "", (site / "_references.html").read_text())
    assert "[Smith and Jones, 2020]" in references  # labelled as the text cites it


@pytest.fixture(scope="module")
def browser(site: Path):
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("Chromium not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install 'd2lbuild[browser]')")
    from selenium.webdriver.chrome.service import Service

    server = serve(site)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,900"):
        options.add_argument(flag)
    profile = site.parent / "chromium-profile"
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    driver.base = f"http://127.0.0.1:{server.server_port}/"
    yield driver
    driver.quit()
    server.shutdown()
    server.server_close()


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    """A web server of the folder on a free port of 127.0.0.1, in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _visible_texts(driver) -> str:
    return driver.execute_script("return document.querySelector('article').innerText")


def _wait(driver, condition, what: str, seconds: float = 10):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(lambda d: condition(d), message=what)


def test_framework_choice_follows_the_reader_across_pages(browser):
    browser.get(browser.base + "chapter_start/tensors.html")
    browser.execute_script("localStorage.clear()")
    browser.get(browser.base + "chapter_start/tensors.html")
    assert "PyTorch calls them tensors." in _visible_texts(browser)
    browser.find_element("css selector", 'label.sd-tab-label[data-sync-id="tensorflow"]').click()
    texts = _visible_texts(browser)
    assert "TensorFlow also calls them tensors." in texts and "PyTorch calls them tensors." not in texts
    browser.save_screenshot(str(ARTEFACTS / "tensors-tensorflow.png"))
    link = browser.find_element("xpath", "//article//a[contains(., 'Section 1.2')]")
    link.click()
    _wait(browser, lambda d: "plots.html" in d.current_url, "the link leads to the plots section")
    texts = _visible_texts(browser)
    assert "plot with tensorflow" in texts and "plot with torch" not in texts
    notebook = browser.find_element("css selector", '.d2l-notebook-link[data-framework="tensorflow"]')
    assert notebook.is_displayed() and notebook.get_attribute("href").endswith("notebooks/tensorflow/chapter_start/plots.ipynb")
    assert not browser.find_element("css selector", '.d2l-notebook-link[data-framework="pytorch"]').is_displayed()
    browser.save_screenshot(str(ARTEFACTS / "plots-tensorflow.png"))
    browser.get(browser.base + "chapter_start/plots.html?framework=mxnet")
    assert "plot with mxnet" in _visible_texts(browser)
    browser.get(browser.base + "chapter_start/tensors.html")
    texts = _visible_texts(browser)
    assert "np.arange(4)" in texts and "calls them tensors" not in texts  # the URL's choice is kept


def test_figures_render_with_a_size(browser):
    browser.get(browser.base + "chapter_start/plots.html?framework=pytorch")
    image = browser.find_element("css selector", "img.output-image")
    assert image.is_displayed()
    assert browser.execute_script("return arguments[0].naturalWidth", image) == 2
    browser.get(browser.base + "chapter_start/tensors.html")
    figure = browser.find_element("css selector", "figure img")
    _wait(browser, lambda d: d.execute_script("return arguments[0].complete", figure), "the figure loads")
    size = figure.size
    assert size["width"] > 0 and size["height"] > 0
    browser.save_screenshot(str(ARTEFACTS / "figure.png"))


def test_numref_links_reach_their_target(browser):
    browser.get(browser.base + "chapter_start/plots.html")
    browser.find_element("xpath", "//article//a[contains(., 'Section 1.1')]").click()
    _wait(browser, lambda d: "tensors.html#sec-tensors" in d.current_url, "the numref link leads to the tensors section")
    assert browser.find_element("id", "sec-tensors").is_displayed()
    browser.find_element("xpath", "//article//a[contains(., 'Fig. 1.1.1')]").click()
    _wait(browser, lambda d: d.current_url.endswith("#fig-pipeline"), "the figure link")
    assert browser.find_element("id", "fig-pipeline").is_displayed()


def test_site_search_finds_a_word(browser):
    browser.get(browser.base + "search.html?q=zebra")
    _wait(browser, lambda d: d.find_elements("css selector", "#search-results li a"), "search results", seconds=20)
    results = [a.text for a in browser.find_elements("css selector", "#search-results li a")]
    browser.save_screenshot(str(ARTEFACTS / "search.png"))
    assert any("Plots" in title for title in results)
    browser.get(browser.base + "search.html?q=squared")  # the tensors section, whose equation follows the word
    _wait(browser, lambda d: d.find_elements("css selector", "#search-results p.context"), "a search summary", seconds=20)
    summary = browser.find_element("css selector", "#search-results p.context").text
    assert "squared norm" in summary and "\\" not in summary and "mathbf" not in summary


def test_a_prose_edit_keeps_figure_numbers_without_numbering_every_page_again(tmp_path: Path, monkeypatch):
    from d2lbuild.html import numbering

    root = tmp_path / "book"
    shutil.copytree(BOOKS / "site", root)
    build_html(root, jobs=1)
    skipped: list[bool] = []
    unchanged = numbering.numbering_unchanged
    monkeypatch.setattr(numbering, "numbering_unchanged", lambda env: skipped.append(unchanged(env)) or skipped[-1])
    tensors = root / "chapter_start/tensors.md"
    tensors.write_text(tensors.read_text().replace("Tensors hold numbers.", "Tensors hold many numbers."))
    build_html(root, jobs=1)
    page = (root / "build/html/chapter_start/tensors.html").read_text()
    assert "Tensors hold many numbers." in page and "Fig. 1.1.1" in page and "(1.1.1)" in page
    assert skipped == [True]  # Sphinx's walk over every page's doctree was skipped
    tensors.write_text(tensors.read_text().replace("Tensors hold many numbers.", "Tensors hold numbers.\n\n![First.](../img/pipeline.svg)\n:label:`fig_first`\n"))
    build_html(root, jobs=1)
    page = re.sub(r"<[^>]+>", "", (root / "build/html/chapter_start/tensors.html").read_text())
    assert skipped == [True, False]  # a new figure: every page numbered again
    assert "Fig. 1.1.1 First." in page and "Fig. 1.1.2 The pipeline" in page and "the picture in\nFig. 1.1.2" in page


def test_math_is_typeset_by_the_site_own_mathjax(browser, site: Path):
    assert (site / "_static/mathjax/startup.js").is_file() and (site / "_static/mathjax/input/tex.js").is_file()
    browser.get(browser.base + "chapter_start/tensors.html")
    scripts = browser.execute_script("return Array.from(document.scripts).map(s => s.src).filter(s => s.includes('mathjax'))")
    assert scripts and all(src.startswith(browser.base) for src in scripts)  # nothing from the network
    _wait(browser, lambda d: d.find_elements("css selector", "mjx-container"), "MathJax typesets the equation")
    formula = browser.find_element("css selector", "mjx-container")
    assert formula.size["width"] > 0
    browser.save_screenshot(str(ARTEFACTS / "math.png"))


def test_sphinx_warnings_name_the_chapter_line(tmp_path: Path):
    root = tmp_path / "book"
    shutil.copytree(BOOKS / "site", root)
    plots = root / "chapter_start/plots.md"
    plots.write_text(plots.read_text() + "\nThe API:\n\n```eval_rst\n.. autoclass:: Trainer\n   :members:\n\n```\n\n"
                     ":begin_tab:`tensorflow`\nSee {unknownrole}`x` here.\n\n## Installing TensorFlow\n:end_tab:\n")
    report = build_html(root, jobs=1)
    assert report.sphinx is not None
    page = (root / "build/html/chapter_start/plots.html").read_text()
    assert re.search(r'<h2 class="rubric"[^>]*>Installing TensorFlow</h2>', page)  # inside the tab, no warning
    assert report.sphinx.warnings == [
        'chapter_start/plots.md:30: warning: Unknown interpreted text role "unknownrole". [myst.role_unknown]',
    ]
    # d2lbook's API pages: autodoc's directives describe the name without importing any library
    assert re.search(r'<dt class="sig sig-object py" id="Trainer">', page) and "autoclass" not in page


def test_the_index_shows_the_front_page_and_its_images(tmp_path: Path):
    from test_html_merge import with_front_page

    root = tmp_path / "book"
    shutil.copytree(BOOKS / "site", root)
    report = build_html(with_front_page(root), jobs=1)
    assert report.sphinx is not None and report.sphinx.warnings == [] and report.site.warnings == []
    assert '<div class="front"><img src="_images/eq.png">' in (root / "build/html/index.html").read_text()
    assert (root / "build/html/_images/eq.png").read_bytes() == b"\x89PNG not really"


def test_figure_numbers_are_kept_only_while_no_page_changed_its_layout_nor_the_set_of_pages():
    from types import SimpleNamespace

    from sphinx.environment import CONFIG_CHANGED, CONFIG_OK

    from d2lbuild.html import numbering

    def env_after_reading(found: set[str], status=CONFIG_OK, read_layout=("section", 0, ("a",))):
        env = SimpleNamespace(found_docs=found, toc_fignumbers={"a": {"figure": {"f": (1, 1)}}}, config_status=status)
        setattr(env, numbering.LAYOUTS, {"a": (("section", 0, ("a",)),), "b": ()})
        setattr(env, numbering.NUMBERED_DOCS, frozenset({"a", "b"}))
        numbering._before_read(None, env, ["a"])
        numbering._layouts(env)["a"] = (read_layout,)  # what reading "a" again recorded
        return env

    assert numbering.numbering_unchanged(env_after_reading({"a", "b"}))
    assert not numbering.numbering_unchanged(env_after_reading({"a", "b", "c"}))  # a page added
    assert not numbering.numbering_unchanged(env_after_reading({"a", "b"}, status=CONFIG_CHANGED))
    assert not numbering.numbering_unchanged(env_after_reading({"a", "b"}, read_layout=("section", 0, ("a", "a2"))))


def test_numbered_references_load_the_page_they_point_to_once(tmp_path: Path, monkeypatch):
    from sphinx.domains.std import StandardDomain
    from sphinx.environment import BuildEnvironment

    root = tmp_path / "book"
    shutil.copytree(BOOKS / "site", root)
    plots = root / "chapter_start/plots.md"
    plots.write_text(plots.read_text() + "\nSee :numref:`fig_pipeline`, :numref:`fig_pipeline` and :numref:`sec_tensors` again.\n")
    loads: list[str] = []
    resolving: list[bool] = []
    get_doctree, resolve = BuildEnvironment.get_doctree, StandardDomain._resolve_numref_xref
    monkeypatch.setattr(BuildEnvironment, "get_doctree", lambda env, name: (resolving and loads.append(name)) or get_doctree(env, name))
    monkeypatch.setattr(StandardDomain, "_resolve_numref_xref",
                        lambda *args: resolving.append(True) or _finally(resolve(*args), resolving.pop))
    report = build_html(root, jobs=1)
    assert report.sphinx is not None and report.sphinx.warnings == []
    page = re.sub(r"<[^>]+>", "", (root / "build/html/chapter_start/plots.html").read_text())
    assert "See Fig. 1.1.1, Fig. 1.1.1 and Section 1.1 again." in page
    assert loads.count("chapter_start/tensors") <= 2  # once for the plots page, once for the tensors page itself


def _finally(value, action):
    action()
    return value


def test_the_search_index_stems_each_word_once_per_build():
    from types import SimpleNamespace

    from sphinx.search.en import SearchEnglish

    from d2lbuild.html.search_cache import _memoise_stemmer

    language = SearchEnglish({})
    wanted = [language.stem(word) for word in ("tensors", "running", "tensors")]
    app = SimpleNamespace(builder=SimpleNamespace(indexer=SimpleNamespace(lang=language)))
    _memoise_stemmer(app, "a", "page.html", {}, None)
    stem = language.stem
    _memoise_stemmer(app, "b", "page.html", {}, None)
    assert language.stem is stem  # wrapped once
    assert [language.stem(word) for word in ("tensors", "running", "tensors")] == wanted
    assert stem.cache_info().hits == 1 and stem.cache_info().misses == 2


def page_fits(driver) -> dict:
    """The page's width against the window's, and whether the search button is on screen."""
    return driver.execute_script(
        "var W = window.innerWidth; var seen = Array.from(document.querySelectorAll('.search-button__button, .search-button')).some("
        " function (b) { var r = b.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= W && r.top >= 0; });"
        "return {scroll: document.documentElement.scrollWidth, inner: W, search: seen}")


def check_widths(driver, url: str, name: str) -> None:
    """No horizontal overflow of the page at 400, 1024 and 1400 px, and the search in reach."""
    try:
        for width in WIDTHS:
            driver.set_window_size(width, 900)
            driver.get(url)
            fits = page_fits(driver)
            driver.save_screenshot(str(ARTEFACTS / f"{name}-{width}.png"))
            assert fits["scroll"] <= fits["inner"], f"{url} at {width} px: the page is {fits['scroll']} px wide"
            assert fits["search"], f"{url} at {width} px: the search button is not on screen"
    finally:
        driver.set_window_size(1280, 900)


def axe_violations(driver, url: str) -> list[str]:
    """axe-core's critical and serious violations of a page, in light and in dark mode."""
    if not AXE.is_file():
        pytest.skip(f"axe-core not installed ({AXE.relative_to(TESTS.parents[1])}; make tools-html installs it from npm)")
    found = []
    for mode in ("light", "dark"):
        driver.get(url)
        driver.execute_script("localStorage.setItem('theme', arguments[0]); localStorage.setItem('mode', arguments[0]);", mode)
        driver.get(url)  # the theme's own script sets the mode before the page is drawn
        assert driver.execute_script("return document.documentElement.dataset.theme") == mode
        driver.execute_script(AXE.read_text(encoding="utf-8"))
        violations = driver.execute_async_script(
            "var done = arguments[0]; axe.run(document, {resultTypes: ['violations']}).then(function (r) {"
            " done(r.violations.filter(function (v) { return v.impact === 'critical' || v.impact === 'serious'; })"
            " .map(function (v) { return v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(function (n) { return n.html.slice(0, 120); }).join(' | '); })); })"
            ".catch(function (e) { done(['axe failed: ' + e]); });")
        found += [f"{mode}: {violation}" for violation in violations]
    driver.execute_script("localStorage.removeItem('theme'); localStorage.removeItem('mode');")
    return found


def test_pages_fit_narrow_and_wide_windows(browser):
    for page in ("chapter_start/tensors.html", "chapter_start/plots.html", "index.html"):
        check_widths(browser, browser.base + page, page.replace("/", "-"))


def test_pages_pass_axe_in_both_colour_modes(browser):
    browser.set_script_timeout(60)
    for page in ("chapter_start/tensors.html", "chapter_start/plots.html", "search.html?q=zebra"):
        assert axe_violations(browser, browser.base + page) == []


def test_tabs_chosen_with_the_keyboard_sync_stick_and_change_the_links(browser):
    from selenium.webdriver.common.keys import Keys

    browser.get(browser.base + "chapter_start/plots.html?framework=pytorch")
    radio = browser.find_element("css selector", ".sd-tab-set > input:checked")
    assert browser.execute_script("return arguments[0].closest('.sd-tab-set').getAttribute('role')", radio) == "radiogroup"
    radio.send_keys(Keys.ARROW_RIGHT)  # the next radio of the group: TensorFlow
    _wait(browser, lambda d: d.execute_script("return localStorage.getItem('d2l-framework')") == "tensorflow", "the choice is stored")
    chosen = browser.execute_script(
        "return Array.from(document.querySelectorAll('.sd-tab-set > input:checked')).map(i => i.nextElementSibling.dataset.syncId)")
    assert chosen and set(chosen) == {"tensorflow"}  # every tab set of the page follows
    assert browser.find_element("css selector", '.d2l-notebook-link[data-framework="tensorflow"]').is_displayed()
    assert not browser.find_element("css selector", '.d2l-notebook-link[data-framework="pytorch"]').is_displayed()
    browser.get(browser.base + "chapter_start/tensors.html")
    assert "TensorFlow also calls them tensors." in _visible_texts(browser)  # kept on the next page


SAVED_TRAINER = '''

Training is done by a class of its own.

```{.python .input}
#@tab pytorch, tensorflow
class Trainer:  #@save
    """Trains a model."""
    def __init__(self, max_epochs, lr=0.1):
        self.max_epochs = max_epochs

    def fit(self, model):
        """Fit the model."""
        return model

def evaluate(model, data, *, device=None):  #@save
    return model
```
'''


def test_api_pages_show_each_tab_library_with_signatures_docstrings_and_defined_in_links(tmp_path: Path):
    root = tmp_path / "book"
    shutil.copytree(BOOKS / "site", root)
    tensors = root / "chapter_start/tensors.md"
    tensors.write_text(tensors.read_text() + SAVED_TRAINER)
    plots = root / "chapter_start/plots.md"
    plots.write_text(plots.read_text() + "\nThe API:\n\n:begin_tab:`pytorch`\n```eval_rst\n.. currentmodule:: d2l.torch\n```\n:end_tab:\n\n"
                     "```eval_rst\n.. autoclass:: Trainer\n   :members:\n\n.. autofunction:: evaluate\n\n```\n")
    report = build_html(root, jobs=1)
    assert report.sphinx is not None and report.sphinx.warnings == []
    page = (root / "build/html/chapter_start/plots.html").read_text()
    text = re.sub(r"<[^>]+>", "", page)
    assert ":members:" not in text and "autoclass" not in text and "currentmodule" not in text
    for module in ("d2l.torch", "d2l.tensorflow"):
        assert f'id="{module}.Trainer"' in page and f'id="{module}.evaluate"' in page
    assert re.search(r"Trainer\s*\(\s*max_epochs\s*,\s*lr\s*=\s*0\.1\s*\)", text)  # the signature, without self
    assert re.search(r"evaluate\s*\(\s*model\s*,\s*data\s*,\s*\*\s*,\s*device\s*=\s*None\s*\)", text)
    assert "Trains a model." in text and "Fit the model." in text and re.search(r"fit\s*\(\s*model\s*\)", text)
    defined_in = re.findall(r'Defined in <a class="reference internal" href="tensors.html#sec-tensors"', page)
    assert len(defined_in) == 4  # each name in each of the two tabs links to its section
    assert "Not in the MXNet library." in text
    api_part = page[page.index("The API:"):]
    assert api_part.count('class="sd-tab-set') == 2  # one per name; the currentmodule block left no empty tab set


SERVICES = """
[html]
header_links = GitHub, https://github.com/owner/book, fab fa-github,
               PDF, ###_CURRENT_VERSION_BASE_LINK_###/book.pdf, fas fa-file-pdf
html_logo = static/logo.png
favicon = static/favicon.png
include_css = static/book.css

[colab]
github_repo = pytorch, owner/book-pytorch-colab
              tensorflow, owner/book-tensorflow-colab
libs = pytorch, torch, d2l==RELEASE
       tensorflow, tensorflow, d2l==RELEASE tensorflow-probability

[sagemaker]
github_repo = pytorch, owner/book-pytorch-sagemaker
kernel = pytorch, conda_pytorch_p36
libs = pytorch, torch, ..  # the book's own package
"""


def test_notebook_services_header_links_logo_and_data_from_d2lbook_keys(tmp_path: Path):
    root = tmp_path / "book"
    shutil.copytree(BOOKS / "site", root)
    config = root / "config.ini"
    config.write_text(config.read_text().replace("[build]", "[build]\nresources = data/").replace("author =", "release = 2.0\nauthor =") + SERVICES)
    (root / "static").mkdir()
    (root / "static/logo.png").write_bytes(base64.b64decode(PNG))
    (root / "static/favicon.png").write_bytes(base64.b64decode(PNG))
    (root / "static/book.css").write_text(".book-rule { color: red; }\n")
    (root / "data").mkdir()
    (root / "data/story.txt").write_text("Once upon a time.\n")
    report = build_html(root, jobs=1)
    assert report.site.warnings == [] and report.sphinx is not None and report.sphinx.warnings == []
    site = root / "build/html"
    page = (site / "chapter_start/tensors.html").read_text()
    links = re.findall(r'<a class="d2l-service-link" data-framework="(\w+)" href="([^"]+)"[^>]*>([^<]+)</a>', page)
    assert {(tab, text) for tab, _, text in links} == {
        ("pytorch", "Open in Colab (PyTorch)"), ("tensorflow", "Open in Colab (TensorFlow)"),
        ("pytorch", "Open in SageMaker Studio Lab (PyTorch)")}
    for tab, url, text in links:
        service, repo = ("colab", f"owner/book-{tab}-colab") if "Colab" in text else ("sagemaker", f"owner/book-{tab}-sagemaker")
        host = "colab.research.google.com/github" if service == "colab" else "studiolab.sagemaker.aws/import/github"
        assert url == f"https://{host}/{repo}/blob/master/chapter_start/tensors.ipynb"
        notebook = json.loads((site / service / tab / "chapter_start/tensors.ipynb").read_text())  # published beside the site
        install = notebook["cells"][1]["source"]
        assert install == {"pytorch": "!pip install d2l==2.0" if service == "colab" else "!pip install ..",
                           "tensorflow": "!pip install d2l==2.0 tensorflow-probability"}[tab]
        assert (site / service / tab / "data/story.txt").read_text() == "Once upon a time.\n"
    assert json.loads((site / "sagemaker/pytorch/chapter_start/tensors.ipynb").read_text())["metadata"]["kernelspec"]["name"] == "conda_pytorch_p36"
    downloaded = json.loads((site / "notebooks/mxnet/chapter_start/tensors.ipynb").read_text())
    assert downloaded["metadata"]["kernelspec"]["name"] == "python3" and "!pip" not in json.dumps(downloaded)
    assert (site / "notebooks/mxnet/data/story.txt").is_file()  # the data the notebooks read, beside them
    assert 'href="https://github.com/owner/book"' in page and "book.pdf" not in page  # a placeholder link is left out
    assert re.search(r'<img src="\.\./_static/logo\.png"[^>]*class="logo__image', page)
    assert 'rel="icon" href="../_static/favicon.png"' in page and "book.css" in page
    assert "Edit source" not in page  # no edit_url: no link to a read-only copy
    index = (site / "index.html").read_text()
    assert "Download notebook" not in index and "Open in Colab" not in index and "was not run" not in index  # no code there


def test_not_run_notes_name_the_selected_framework_only(browser):
    browser.get(browser.base + "chapter_start/plots.html?framework=tensorflow")
    texts = _visible_texts(browser)
    assert "The TensorFlow code of this section was not run" in texts and "The MXNet code" not in texts
    browser.get(browser.base + "chapter_start/plots.html?framework=pytorch")  # PyTorch was run here
    assert "was not run" not in _visible_texts(browser)
    browser.get(browser.base + "index.html")
    assert "was not run" not in _visible_texts(browser) and "Download notebook" not in _visible_texts(browser)


def test_the_published_folder_holds_only_what_a_server_serves(site: Path):
    names = {path.relative_to(site).as_posix() for path in site.rglob("*")}
    assert not [name for name in names if name.startswith(".") or "/." in name]  # no Sphinx state, no records
    assert not [name for name in names if name.endswith(".map")]  # no source maps
    assert "_static/scripts/fontawesome.js" not in names and "_sources" not in names
    assert (site.parent / "html-doctrees" / "environment.pickle").is_file()


REPOSITORY = TESTS.parents[1]
MAX_PAGE_BYTES = 2_000_000
BOOK_PAGES = ("chapters/rnn/text-preprocessing.html", "chapters/attention/transformer.html", "chapters/index.html")


@pytest.fixture(scope="module")
def own_site(tmp_path_factory) -> Path:
    """This repository's book built into a temporary folder: its build/html."""
    root = tmp_path_factory.mktemp("own") / "book"
    root.mkdir()
    for name in ("chapters", "data", "d2l"):
        shutil.copytree(REPOSITORY / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPOSITORY / "config.ini", root / "config.ini")
    build_html(root)
    return root / "build/html"


@pytest.fixture(scope="module")
def own_book(own_site: Path, browser) -> str:
    """This repository's book served: the base URL."""
    server = serve(own_site)
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def cold_page_bytes(driver, url: str) -> tuple[int, list]:
    """What a first visit to the page transfers, once its math is typeset: the page and everything it loads."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    try:
        driver.get(url)
        _wait(driver, lambda d: d.execute_script(
            "return document.readyState === 'complete' && (!window.MathJax || !MathJax.startup || !MathJax.startup.promise"
            " || document.querySelector('mjx-container') !== null)"), "the page and its math load", seconds=30)
        driver.execute_async_script("var done = arguments[0]; document.fonts.ready.then(function () { setTimeout(done, 300); });")
        entries = driver.execute_script(
            "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
            ".map(function (e) { return [e.name, e.transferSize]; })")
    finally:
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": False})
    return sum(size for _, size in entries), sorted(entries, key=lambda entry: -entry[1])[:5]


def test_a_cold_page_of_the_book_weighs_under_2_mb(browser, own_book: str):
    for page in BOOK_PAGES:
        total, largest = cold_page_bytes(browser, own_book + page)
        assert 0 < total <= MAX_PAGE_BYTES, f"{page}: {total} bytes, the largest {largest}"


def test_the_book_fits_narrow_and_wide_windows_and_passes_axe(browser, own_book: str):
    browser.set_script_timeout(60)
    for page in BOOK_PAGES[::2]:  # a section with wide code and outputs, and the front page
        check_widths(browser, own_book + page, "book-" + page.replace("/", "-"))
    for page in BOOK_PAGES:
        assert axe_violations(browser, own_book + page) == []


D2L_EN = REPOSITORY.parent / "shared" / "compat" / "books" / "d2l-en"
D2L_EN_PAGES = ("index.html", "chapter_preliminaries/ndarray.html", "chapter_appendix-tools-for-deep-learning/d2l.html")


@pytest.fixture(scope="module")
def d2l_en(tmp_path_factory) -> Path:
    """d2l-en's copy (../shared/compat/books/d2l-en) built into a temporary folder: its build/html (a minute of CPU)."""
    if not D2L_EN.is_dir():
        pytest.skip("../shared/compat/books/d2l-en is not beside the repository")
    root = tmp_path_factory.mktemp("d2l-en") / "book"
    shutil.copytree(D2L_EN, root)
    build_html(root)
    return root / "build/html"


@pytest.mark.book  # a minute of CPU to build d2l-en: make test-books runs it
def test_d2l_en_api_page_has_a_signature_and_a_defined_in_link_per_entry(d2l_en: Path):
    page = (d2l_en / "chapter_appendix-tools-for-deep-learning/d2l.html").read_text()
    text = re.sub(r"<[^>]+>", "", page)
    assert ":members:" not in text
    tree = ast.parse((d2l_en.parents[1] / "d2l/torch.py").read_text())
    with_parameters = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)} | {
        node.name for node in tree.body if isinstance(node, ast.ClassDef)
        and any(isinstance(item, ast.FunctionDef) and item.name == "__init__" and len(item.args.args) > 1 for item in node.body)}
    entries = re.findall(r'<dt class="sig sig-object py" id="d2l\.torch\.(\w+)">(.*?)</dt>\s*<dd>(.*?)</dd>', page, re.DOTALL)
    assert len(entries) >= 50  # d2l-en lists 56 names; a few are not in the PyTorch library
    for name, signature, body in entries:
        assert re.search(r'Defined in <a class="reference internal" href="[^"]+\.html#', body), name
        if name in with_parameters:
            assert "sig-paren" in signature, f"{name} has no signature"
    for module in ("d2l.mxnet", "d2l.tensorflow", "d2l.jax"):  # each framework's tab names its own module
        assert f'id="{module}.Trainer"' in page


@pytest.mark.book  # a minute of CPU to build d2l-en: make test-books runs it
def test_d2l_en_pages_fit_the_windows_and_pass_axe(browser, d2l_en: Path):
    server = serve(d2l_en)
    base = f"http://127.0.0.1:{server.server_port}/"
    try:
        browser.set_script_timeout(60)
        for page in D2L_EN_PAGES:
            check_widths(browser, base + page, "d2l-en-" + page.replace("/", "-"))
            assert axe_violations(browser, base + page) == []
        browser.get(base + "index.html")
        texts = _visible_texts(browser)
        assert "was not run" not in texts and "Download notebook" not in texts  # the front page has no code
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.book  # a minute of CPU to build d2l-en: make test-books runs it
def test_d2l_en_framework_specific_runs_are_one_tab_set_each(d2l_en: Path):
    page = (d2l_en / "chapter_preliminaries/ndarray.html").read_text()
    assert "Not available in" not in page
    assert page.count('<div class="sd-tab-set') <= 20  # 27 before prose and code were grouped


def test_the_book_numbers_its_chapters_but_not_the_preface_and_references(own_site: Path):
    index = re.sub(r"<[^>]+>", "", (own_site / "chapters/index.html").read_text())
    lines = [line.strip() for line in index.splitlines() if line.strip()]
    assert "Preface" in lines and "References" in lines and "1. Preliminaries" in lines
    assert not [line for line in lines if re.match(r"\d+\. (Preface|References)$", line)]


def _numbered_chapters() -> dict[str, str]:
    """The numbered chapters of this repository's book: folder name -> 'N. Title', in reading order."""
    index = (REPOSITORY / "chapters/index.md").read_text()
    toc = re.search(r"```toc\n:numbered:\n(.*?)```", index, re.S).group(1)
    folders = [line.split("/")[0] for line in toc.splitlines() if line.endswith("/index")]
    titles = [(REPOSITORY / "chapters" / folder / "index.md").read_text().splitlines()[0].removeprefix("# ")
              for folder in folders]
    return {folder: f"{number}. {title}" for number, (folder, title) in enumerate(zip(folders, titles, strict=True), 1)}


def test_the_sidebar_lists_every_chapter_on_every_page(own_site: Path):
    chapters = _numbered_chapters()
    rnn_number = chapters["rnn"].split(".")[0]
    for page in ("chapters/preface/index.html", "chapters/references.html", "chapters/rnn/text-preprocessing.html"):
        html_text = (own_site / page).read_text()
        sidebar = html_text[html_text.index('class="bd-docs-nav'):html_text.index('class="bd-main"')]
        links = re.findall(r'<a class="[^"]*reference internal[^"]*" href="[^"]*">([^<]+)</a>', sidebar)
        titles = {html.unescape(link).replace("\u2019", "'") for link in links}  # Sphinx curls apostrophes
        assert {*chapters.values(), "References"} <= titles, page
        assert (f"{rnn_number}.2. Language Models" in titles) == page.startswith("chapters/rnn/")  # the current chapter is open
