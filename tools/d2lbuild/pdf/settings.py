"""The PDF's settings from config.ini: ``[project]`` and d2lbook's ``[pdf]`` keys, with the ones not used named once."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..config import key_position
from ..errors import BuildError

# d2lbook's [pdf] keys read here; the others (its LaTeX post-processing and style downloads) are warned about once.
USED_KEYS = ("bibfile", "latex_logo", "main_font", "sans_font", "mono_font")
DEFAULT_FONTS = {"main": "DejaVu Serif", "sans": "DejaVu Sans", "mono": "DejaVu Sans Mono"}
CJK_FONTS = {"main": "Noto Serif CJK SC", "sans": "Noto Sans CJK SC", "mono": "Noto Sans Mono CJK SC"}


@dataclass(frozen=True)
class PdfSettings:
    name: str
    title: str
    author: str
    release: str
    language: str
    bibfile: str | None
    logo: str | None
    fonts: dict[str, str]
    warnings: tuple[str, ...] = field(default=())

    @property
    def cjk(self) -> bool:
        return self.language.split("_")[0] in ("zh", "ja", "ko")


def pdf_settings(root: Path) -> PdfSettings:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    text = _config_text(root)
    try:
        parser.read_string(text)
    except configparser.Error as err:
        raise BuildError("config.ini", f"cannot read: {err}") from None

    def get(section: str, key: str) -> str:
        return parser.get(section, key, fallback="").strip()

    warnings = []
    for key in parser["pdf"] if parser.has_section("pdf") else ():
        if key not in USED_KEYS:
            warnings.append(f"{key_position(text, 'pdf', key)}: warning: [pdf] {key} is not used by d2lbuild pdf")
    fonts = {}
    for kind, default in DEFAULT_FONTS.items():
        wanted = get("pdf", f"{kind}_font")
        if wanted and not font_installed(wanted):
            warnings.append(f"{key_position(text, 'pdf', f'{kind}_font')}: warning: font {wanted} is not installed; {default} is used")
            wanted = ""
        fonts[kind] = wanted or default
    logo = get("pdf", "latex_logo") or None
    if logo and not (root / logo).is_file():
        warnings.append(f"{key_position(text, 'pdf', 'latex_logo')}: warning: latex_logo {logo} not found")
        logo = None
    return PdfSettings(
        name=get("project", "name") or "book",
        title=get("project", "title") or get("project", "name") or "Book",
        author=get("project", "author"),
        release=get("project", "release"),
        language=_sphinx_language(get("project", "lang") or "en"),
        bibfile=get("html", "bibfile") or get("pdf", "bibfile") or None,
        logo=logo,
        fonts=fonts,
        warnings=tuple(warnings),
    )


def _config_text(root: Path) -> str:
    try:
        return (root / "config.ini").read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise BuildError("config.ini", f"cannot read: {err}") from None


def _sphinx_language(lang: str) -> str:
    return {"zh": "zh_CN"}.get(lang, lang)


def font_installed(family: str) -> bool:
    """Whether fontconfig knows the family (xelatex finds system fonts through it)."""
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", f":family={family}", "family"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())
