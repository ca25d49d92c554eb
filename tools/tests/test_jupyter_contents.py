"""The Jupyter contents manager: a real server on 127.0.0.1 opens a chapter as a notebook and saves it back."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import BOOKS

pytest.importorskip("jupyter_server", reason="the jupyter extra is not installed (pip install 'd2lbuild[jupyter]')")

TOKEN = "d2lbuild-test-token"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A Jupyter server for the book at ``root``, on 127.0.0.1 only."""

    def __init__(self, root: Path, home: Path, tab: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
        env = {
            **os.environ,
            "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
        }
        command = [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            f"--IdentityProvider.token={TOKEN}",
            "--ServerApp.contents_manager_class=d2lbuild.jupyter.BookContentsManager",
            f"--BookContentsManager.tab={tab}",
            "--ServerApp.jpserver_extensions=jupyterlab_jupytext=False",  # jupytext would take .md files itself
            "--ServerApp.allow_root=True",
        ]
        home.mkdir(parents=True, exist_ok=True)
        self.log = (home / "server.log").open("wb")
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=root)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        request.add_header("Authorization", f"token {TOKEN}")
        request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                if self.request("GET", "/api/status")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not answer")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def small_book(tmp_path_factory) -> Path:
    """One copy of the small book for the module's server (each test edits its own chapter)."""
    root = tmp_path_factory.mktemp("jupyter") / "small"
    shutil.copytree(BOOKS / "small", root, ignore=shutil.ignore_patterns("build", "d2l"))
    return root


@pytest.fixture(scope="module")
def server(small_book: Path, tmp_path_factory):
    running = Server(small_book, tmp_path_factory.mktemp("home"), "tensorflow")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def test_a_chapter_opens_as_a_notebook_and_saves_back(server: Server, small_book: Path):
    chapter = small_book / "chapter_basics" / "tensors.md"
    status, model = server.request("GET", "/api/contents/chapter_basics/tensors.md?type=notebook&content=1")
    assert status == 200, model
    assert model["type"] == "notebook" and model["format"] == "json"
    notebook = model["content"]
    assert notebook["metadata"]["kernelspec"]["name"] == "d2l-tensorflow"
    sources = ["".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"] for cell in notebook["cells"]]
    assert "#@save\nimport tensorflow as tf" in sources

    status, plain = server.request("GET", "/api/contents/chapter_basics/tensors.md?type=file&content=1")
    assert status == 200 and plain["content"] == chapter.read_text()  # still a Markdown file when asked for one

    original = chapter.read_text()
    status, saved = server.request("PUT", "/api/contents/chapter_basics/tensors.md", {"type": "notebook", "format": "json", "content": notebook})
    assert status == 200, saved
    assert chapter.read_text() == original  # saved unchanged: not a byte changes

    for cell in notebook["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if text == "#@save\nimport tensorflow as tf":
            cell["source"] = "#@save\nimport tensorflow as tf\nimport numpy as np"
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "NOT IN THE CHAPTER\n"}]
            cell["execution_count"] = 1
    status, saved = server.request("PUT", "/api/contents/chapter_basics/tensors.md", {"type": "notebook", "format": "json", "content": notebook})
    assert status == 200, saved
    text = chapter.read_text()
    assert "%%tab tensorflow\n#@save\nimport tensorflow as tf\nimport numpy as np\n```" in text
    assert "NOT IN THE CHAPTER" not in text

    # a later save of the same open notebook goes on from there (the server keeps what it exported)
    notebook["cells"].append({"cell_type": "code", "id": "late", "metadata": {}, "source": "print(1)", "outputs": [], "execution_count": None})
    status, saved = server.request("PUT", "/api/contents/chapter_basics/tensors.md", {"type": "notebook", "format": "json", "content": notebook})
    assert status == 200, saved
    assert chapter.read_text().endswith("```{.python .input}\n#@tab tensorflow\nprint(1)\n```\n")


def test_listing_and_conflicts(server: Server, small_book: Path):
    status, folder = server.request("GET", "/api/contents/chapter_basics?content=1")
    assert status == 200
    listed = {entry["name"]: entry["type"] for entry in folder["content"]}
    assert listed["models.md"] == "file" and listed["models.ipynb"] == "notebook"

    status, model = server.request("GET", "/api/contents/chapter_basics/models.ipynb?content=1")
    assert status == 200 and model["type"] == "notebook"
    status, checkpoint = server.request("POST", "/api/contents/chapter_basics/models.ipynb/checkpoints")
    assert status == 201, checkpoint  # JupyterLab checkpoints what it saves: the chapter file is copied
    notebook = model["content"]
    chapter = small_book / "chapter_basics" / "models.md"
    chapter.write_text(chapter.read_text().replace("self.scale = scale", "self.scale = scale  # changed on disk"))
    for cell in notebook["cells"]:
        if "class Model" in "".join(cell["source"]):
            cell["source"] = "class Model:  #@save\n    pass"
    status, answer = server.request("PUT", "/api/contents/chapter_basics/models.ipynb", {"type": "notebook", "format": "json", "content": notebook})
    assert status == 409
    assert "chapter_basics/models.md:6: conflict" in answer["message"]
    assert chapter.read_text().splitlines()[5] == "<<<<<<< chapter"
    assert not (small_book / "chapter_basics" / "models.ipynb").exists()
