"""The notebooks the site publishes: to download, and for Colab and SageMaker Studio Lab (d2lbook's keys).

A published notebook is the section's notebook as the page shows it (the evaluated one, with its outputs,
when it matches the chapter), naming Jupyter's standard kernel instead of d2lbuild's per-tab kernels.
Notebooks for Colab and SageMaker go to folders of their own (``colab/TAB/``, ``sagemaker/TAB/``), each the
content of the ``[colab]``/``[sagemaker] github_repo`` repository of that tab, with a first cell that
installs the ``libs`` the notebook imports; the links point to the page's notebook in that repository.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

STANDARD_KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
COLAB_URL = "https://colab.research.google.com/github/{repo}/blob/master/{path}"
SAGEMAKER_URL = "https://studiolab.sagemaker.aws/import/github/{repo}/blob/master/{path}"
IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][\w]*)", re.MULTILINE)


@dataclass(frozen=True)
class Service:
    """A notebook service of d2lbook's config: Colab or SageMaker Studio Lab."""

    key: str  # the config section, and the site folder its notebooks go to
    label: str
    url: str
    repos: dict[str, str] = field(default_factory=dict)  # tab -> OWNER/REPO
    libs: tuple[tuple[str, str, str], ...] = ()  # (tab, module, pip arguments)
    kernels: dict[str, str] = field(default_factory=dict)  # tab -> kernel name (SageMaker)
    svg_url: tuple[str, str] | None = None  # (image folder, URL): SVG images shown from there

    def link(self, tab: str, page: str) -> str | None:
        repo = self.repos.get(tab)
        return self.url.format(repo=repo, path=f"{page}.ipynb") if repo else None


def services(value: Callable[[str, str], str], release: str | None) -> tuple[Service, ...]:
    """The ``[colab]`` and ``[sagemaker]`` services of the config (``value(section, key)``), when they name repositories."""
    found = []
    for key, label, url in (("colab", "Open in Colab", COLAB_URL), ("sagemaker", "Open in SageMaker Studio Lab", SAGEMAKER_URL)):
        repos = dict(_pairs(value(key, "github_repo")))
        if not repos:
            continue
        lines = _triples(value(key, "libs"))
        libs = tuple((tab, module, spec.replace("RELEASE", release or "")) for tab, module, spec in lines)
        kernels = dict(_pairs(value(key, "kernel")))
        svg = [part.strip() for part in value(key, "replace_svg_url").split(",", 1)]
        svg_url = (svg[0].strip("/"), svg[1].rstrip("/")) if len(svg) == 2 and all(svg) else None
        found.append(Service(key, label, url, repos, libs, kernels, svg_url))
    return tuple(found)


def _entries(value: str) -> list[list[str]]:
    """Lines of comma-separated fields, without comments."""
    rows = []
    for line in value.split("\n"):
        line = line.split("#", 1)[0].strip()
        if line:
            rows.append([part.strip() for part in line.split(",")])
    return rows


def _pairs(value: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in _entries(value) if len(row) >= 2 and row[0] and row[1]]


def _triples(value: str) -> list[tuple[str, str, str]]:
    return [(row[0], row[1], ",".join(row[2:]).strip()) for row in _entries(value) if len(row) >= 3]


def published(notebook: dict) -> dict:
    """The notebook readers download: outputs kept, Jupyter's standard kernel."""
    result = copy.deepcopy(notebook)
    result.setdefault("metadata", {})["kernelspec"] = dict(STANDARD_KERNEL)
    return result


def for_service(notebook: dict, service: Service, tab: str) -> dict:
    """The notebook for a service: an install cell for the ``libs`` it imports, its kernel, SVGs from their URL."""
    result = published(notebook)
    if tab in service.kernels:
        result["metadata"]["kernelspec"] = {"name": service.kernels[tab], "display_name": service.kernels[tab], "language": "python"}
    code = "\n".join(_text(cell.get("source", "")) for cell in result.get("cells", []) if cell.get("cell_type") == "code")
    imported = set(IMPORT.findall(code))
    installs = [f"!pip install {spec}" for lib_tab, module, spec in service.libs if lib_tab == tab and module in imported and spec]
    if service.svg_url is not None:
        for cell in result.get("cells", []):
            if cell.get("cell_type") == "markdown":
                cell["source"] = _svg_from_url(_text(cell.get("source", "")), *service.svg_url)
    if installs:
        note = {"cell_type": "markdown", "id": "install-note", "metadata": {},
                "source": "This notebook needs the libraries below; the next cell installs them."}
        cell = {"cell_type": "code", "id": "install", "metadata": {}, "execution_count": None, "outputs": [],
                "source": "\n".join(installs)}
        result["cells"] = [note, cell, *result.get("cells", [])]
    return result


def _svg_from_url(text: str, folder: str, url: str) -> str:
    pattern = re.compile(r"(\]\(|src=[\"'])(?:\.\./)*" + re.escape(folder) + r"/([^)\"'\s]+\.svg)")
    return pattern.sub(lambda m: f"{m.group(1)}{url}/{m.group(2)}", text)


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def dumps(notebook: dict) -> str:
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
