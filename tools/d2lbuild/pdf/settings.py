"""The PDF's settings from config.ini: ``[project]`` and d2lbook's ``[pdf]`` keys, with the ones not used named once."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field

from ..config import Config
from ..config_schema import unused_by

# d2lbook's [pdf] keys the schema marks as not read by the PDF (its LaTeX post-processing and style downloads) are
# warned about once.
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


def pdf_settings(config: Config) -> PdfSettings:
    """The PDF's settings from the parsed config; the schema's [pdf] keys the PDF does not read are named once."""
    get = config.value
    warnings = []
    unused = unused_by("pdf", "pdf")
    for key in config.section("pdf"):
        if key in unused:
            warnings.append(f"{config.where('pdf', key)}: warning: [pdf] {key} is not used by d2lbuild pdf")
    fonts = {}
    for kind, default in DEFAULT_FONTS.items():
        wanted = config.given("pdf", f"{kind}_font")
        if wanted and not font_installed(wanted):
            warnings.append(f"{config.where('pdf', f'{kind}_font')}: warning: font {wanted} is not installed; {default} is used")
            wanted = ""
        fonts[kind] = wanted or default
    logo = get("pdf", "latex_logo") or None
    if logo and not (config.root / logo).is_file():
        warnings.append(f"{config.where('pdf', 'latex_logo')}: warning: latex_logo {logo} not found")
        logo = None
    return PdfSettings(
        name=get("project", "name"),
        title=get("project", "title") or config.given("project", "name") or "Book",
        author=get("project", "author"),
        release=get("project", "release"),
        language=_sphinx_language(get("project", "lang")),
        bibfile=get("html", "bibfile") or get("pdf", "bibfile") or None,
        logo=logo,
        fonts=fonts,
        warnings=tuple(warnings),
    )


def _sphinx_language(lang: str) -> str:
    return {"zh": "zh_CN"}.get(lang, lang)


def font_installed(family: str) -> bool:
    """Whether fontconfig knows the family (xelatex finds system fonts through it)."""
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", f":family={family}", "family"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())
