"""One schema of config.ini's keys: every stage reads through it, unknown keys are warned at their line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run

from d2lbuild.config import load_config, parse_config
from d2lbuild.config_schema import SCHEMA, section_keys, suggestion
from d2lbuild.errors import BuildError
from d2lbuild.html.site import html_settings
from d2lbuild.pdf.settings import pdf_settings

PACKAGE = Path(__file__).resolve().parents[1] / "d2lbuild"
README = PACKAGE.parents[1] / "README.md"
BASE = "[project]\nname = b\ntitle = The B\nauthor = Ann\n\n[build]\nindex = index\ntabs = pytorch\n"


def test_only_the_config_module_parses_config_ini():
    readers = [path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py") if "configparser" in path.read_text()]
    assert readers == ["config.py"]


@pytest.mark.parametrize(("section", "key", "expected"), [
    ("eval", "timout", "timeout"), ("eval-pytorch", "devcie", "device"), ("html", "html_lgo", "html_logo"),
    ("pdf", "mian_font", "main_font"), ("library-mxnet", "lib_fiel", "lib_file"), ("build", "zzz", None),
])
def test_an_unknown_key_gets_the_closest_known_one(section, key, expected):
    assert suggestion(section, key) == expected


def test_unknown_keys_of_every_checked_section_are_warned_at_their_line(tmp_path):
    text = BASE + "\n[html]\nhtml_lgo = x.png\n\n[pdf]\nmian_font = X\n\n[colab]\ngithub_rpo = a, b/c\n\n[slides]\nanything = 1\n"
    warnings = parse_config(text, tmp_path).warnings
    assert warnings == (
        "config.ini:11: warning: unknown key 'html_lgo' in [html]; it is ignored (did you mean 'html_logo'?)",
        "config.ini:14: warning: unknown key 'mian_font' in [pdf]; it is ignored (did you mean 'main_font'?)",
        "config.ini:17: warning: unknown key 'github_rpo' in [colab]; it is ignored (did you mean 'github_repo'?)",
    )


def test_the_real_books_keys_are_all_known():
    books = Path(__file__).resolve().parents[3] / "shared" / "compat" / "books"
    configs = sorted(books.glob("*/config.ini"))
    if not configs:
        pytest.skip("the real books are not here")
    for config in configs:
        text = config.read_text(encoding="utf-8")
        tabs = re.search(r"^tabs\s*=\s*(.*)$", text, re.MULTILINE).group(1)
        assert [w for w in parse_config(text, config.parent).warnings if "unknown key" in w] == [], (config, tabs)


@pytest.mark.parametrize(("text", "message"), [
    (BASE + "eval_notebook = maybe\n", "config.ini:9: [build] eval_notebook: 'maybe' is not true or false"),
    (BASE + "\n[html]\nhtml_logo = ../../logo.png\n", "config.ini:11: [html] html_logo: ../../logo.png is outside the book's root"),
    (BASE + "\n[pdf]\nlatex_logo = /etc/logo.png\n", "config.ini:11: [pdf] latex_logo: /etc/logo.png is outside the book's root"),
])
def test_a_bad_value_is_an_error_at_its_line(tmp_path, text, message):
    with pytest.raises(BuildError) as raised:
        parse_config(text, tmp_path)
    assert str(raised.value).startswith(message)


def test_the_site_and_the_pdf_read_the_parsed_config_not_the_file(book):
    config_text = BASE + "\n[html]\nedit_url = https://e/x\n\n[pdf]\nbibfile = refs.bib\n\n[colab]\ngithub_repo = pytorch, o/r\n"
    root = book({"intro.md": "# Intro\n"}, config=config_text)
    config = load_config(root)
    (root / "config.ini").write_text("[project]\nname = other\n")  # a reader of the file would see this
    site, pdf = html_settings(config), pdf_settings(config)
    assert (site.title, site.author, site.copyright, site.edit_url, site.bibfile) == ("The B", "Ann", "Ann", "https://e/x", "refs.bib")
    assert [service.repos for service in site.services] == [{"pytorch": "o/r"}]
    assert (pdf.name, pdf.title, pdf.bibfile, pdf.language) == ("b", "The B", "refs.bib", "en")


def test_a_key_outside_the_schema_cannot_be_read(tmp_path):
    with pytest.raises(KeyError):
        parse_config(BASE, tmp_path).value("html", "no_such_key")


def test_the_readme_lists_every_key_of_the_schema():
    readme = README.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `\[([\w-]+)\] ([\w-]+)`", readme, re.MULTILINE))
    assert listed == {(key.section, key.name) for key in SCHEMA}
    assert all(section_keys(section) is not None for section in ("eval-TAB", "library-TAB"))


def test_an_unknown_key_is_warned_once_by_a_command(book):
    root = book({"intro.md": "# Intro\n"}, config=BASE + "\n[eval]\ntimout = 5\n")
    result = run(root, "build")
    assert result.exit_code == 0
    assert (result.stdout + result.stderr).count("unknown key 'timout'") == 1


def test_the_site_says_an_unknown_key_once(book):
    root = book({"intro.md": "# Intro\n"}, config=BASE + "\n[html]\nhtml_lgo = x.png\n")
    result = run(root, "html", "--site-only")
    assert result.exit_code == 0
    assert (result.stdout + result.stderr).count("unknown key 'html_lgo' in [html]") == 1
