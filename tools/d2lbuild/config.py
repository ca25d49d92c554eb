"""Read ``config.ini``: d2lbook's sections and keys, plus the optional ``[eval]`` ones."""

from __future__ import annotations

import ast
import configparser
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from .config_schema import FLAG, FLAG_VALUES, PATH, PATHS, SCHEMA, schema_key, section_keys, suggestion
from .errors import BuildError
from .globs import glob_problem
from .hashing import digest

CONFIG_NAME = "config.ini"
DEFAULT_TIMEOUT = 600.0
DEVICES = ("auto", "cpu", "gpu")
# The module a tab's library lives in when ``lib_file`` is not given.
DEFAULT_MODULES = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet", "jax": "jax"}
_TAB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class TabLibrary:
    """Where a tab's library goes and the aliases that serve it."""

    tab: str
    lib_file: str
    lib_name: str
    simple_alias: tuple[tuple[str, str], ...] = ()
    fluent_alias: tuple[tuple[str, str], ...] = ()
    args_alias: tuple[tuple[str, str], ...] = ()
    alias_lines: tuple[str, ...] = ()
    reverse_alias: tuple[tuple[str, str], ...] = ()
    alias_given: bool = False  # the section has an ``alias`` key, empty or not (d2lbook then writes a blank line)
    fluent_given: bool = False  # the same for ``fluent_alias``


@dataclass(frozen=True)
class EvalSettings:
    """How a tab's notebooks are executed (``[eval]`` overridden by ``[eval-TAB]``)."""

    requirements: tuple[str, ...] = ()
    python: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    device: str = "auto"
    timeout: float = DEFAULT_TIMEOUT
    timeouts: tuple[tuple[str, float], ...] = ()
    gpu_sections: tuple[str, ...] = ()
    preload: tuple[str, ...] | None = None  # modules warm kernels import first; None: the library's imports; (): off


@dataclass(frozen=True)
class Config:
    """Everything the build needs from ``config.ini``, as plain data."""

    root: Path
    tabs: tuple[str, ...]
    index: str = "index"
    notebooks: tuple[str, ...] = ("**/*.md",)
    exclusions: tuple[str, ...] = ()
    non_notebooks: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    release: str | None = None
    version_file: str | None = None
    libraries: tuple[TabLibrary, ...] = ()
    evals: tuple[tuple[str, EvalSettings], ...] = ()
    cluster: str | None = None  # [eval] cluster: the Ray cluster eval runs on (ray://HOST:PORT, auto, HOST:PORT)
    digest: str = ""
    warnings: tuple[str, ...] = ()
    text: str = field(default="", repr=False, compare=False)  # config.ini itself, for the lines of keys
    values: dict[str, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)  # section -> key -> text

    def value(self, section: str, key: str) -> str:
        """The stripped value of a key of the schema, or its default; the site and the PDF read through this."""
        known = schema_key(section, key)
        if known is None:
            raise KeyError(f"[{section}] {key} is not in the config schema")
        return self.values.get(section, {}).get(key, "").strip() or known.default

    def given(self, section: str, key: str) -> str:
        """The stripped value the file gives a key of the schema, or "" (no default)."""
        self.value(section, key)  # a key outside the schema is a mistake of the caller
        return self.values.get(section, {}).get(key, "").strip()

    def section(self, section: str) -> dict[str, str]:
        """The keys a section sets and their values."""
        return dict(self.values.get(section, {}))

    def where(self, section: str, key: str) -> str:
        """``config.ini:LINE`` of ``key`` in ``[section]``, or just the file name."""
        return key_position(self.text, section, key)

    @property
    def default_tab(self) -> str:
        return self.tabs[0]

    def library(self, tab: str) -> TabLibrary:
        return next(lib for lib in self.libraries if lib.tab == tab)

    def eval_settings(self, tab: str) -> EvalSettings:
        return dict(self.evals)[tab]


def load_config(root: Path) -> Config:
    """Read ``root/config.ini``; a broken file raises BuildError naming the key."""
    path = root / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BuildError(CONFIG_NAME, f"not found in {root} (run in the book's root, or pass --root)") from None
    except UnicodeDecodeError as err:
        raise BuildError(CONFIG_NAME, f"not UTF-8 ({err.reason})") from None
    return parse_config(text, root)


def parse_config(text: str, root: Path) -> Config:
    """Turn the text of ``config.ini`` into a Config."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # keys keep their case, as in d2lbook
    try:
        parser.read_string(text, source=CONFIG_NAME)
    except configparser.Error as err:
        line = getattr(err, "lineno", None)
        where = f"{CONFIG_NAME}:{line}" if line else CONFIG_NAME
        raise BuildError(where, _first_line(str(err))) from None
    reader = _Reader(parser, text)
    tabs = reader.tabs()
    config = Config(
        root=root,
        tabs=tabs,
        index=reader.get("build", "index", "index").removesuffix(".md"),
        notebooks=tuple(reader.words("build", "notebooks")) or ("**/*.md",),
        exclusions=tuple(reader.words("build", "exclusions")),
        non_notebooks=tuple(reader.words("build", "non-notebooks")),
        resources=tuple(reader.words("build", "resources")),
        release=reader.get("project", "release") or reader.get("library", "release"),
        version_file=reader.get("library", "version_file"),
        libraries=tuple(reader.library(tab, first=(tab == tabs[0])) for tab in tabs),
        evals=tuple((tab, reader.eval_settings(tab)) for tab in tabs),
        cluster=reader.get("eval", "cluster"),
        digest=digest(text),
        warnings=tuple(config_warnings(text, tabs)),
        text=text,
        values={name: dict(parser.items(name, raw=True)) for name in parser.sections()},
    )
    check_kinds(reader)
    check_paths(reader, config)
    check_collisions(reader, config)
    return config


def known_keys(section: str) -> frozenset[str] | None:
    """The keys a section may hold, or None for a section d2lbuild does not check."""
    return section_keys(section)


def check_kinds(reader: _Reader) -> None:
    """Every flag of the schema is a yes or no, every path of it stays inside the book's root."""
    for key in SCHEMA:
        sections = [key.section] if "TAB" not in key.section else [
            name for name in reader.parser.sections() if name.startswith(key.section.replace("TAB", ""))]
        for section in sections:
            value = reader.get(section, key.name)
            if value is None:
                continue
            if key.kind == FLAG and value.lower() not in FLAG_VALUES:
                raise reader.fail(section, key.name, f"{value!r} is not true or false")
            paths = [value] if key.kind == PATH else value.split() if key.kind == PATHS else []
            for path in paths:
                if leaves_root(path):
                    outside = f"{path} is outside the book's root; name paths relative to the folder of {CONFIG_NAME}"
                    raise reader.fail(section, key.name, outside)


def config_position(root: Path, section: str, key: str) -> str:
    """``config.ini:LINE`` of a key of the book's config file (read again: positions are for messages only)."""
    try:
        return key_position((root / CONFIG_NAME).read_text(encoding="utf-8-sig"), section, key)
    except (OSError, UnicodeDecodeError):
        return CONFIG_NAME


def config_warnings(text: str, tabs: tuple[str, ...]) -> list[str]:
    """Keys given twice in a section (the later one wins), keys no section of d2lbuild's knows, and ``[library-X]``
    sections for no tab."""
    warnings, seen, section = [], {}, None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            seen = {}
            if section.startswith("library-") and section[len("library-") :] not in tabs:
                warnings.append(f"{CONFIG_NAME}:{number}: warning: [{section}] names no tab of [build] tabs; it is ignored")
        elif section and line[:1] not in (" ", "\t", "#", ";", "") and re.match(r"[^=:]+[=:]", stripped):
            key = re.split(r"\s*[=:]", stripped, maxsplit=1)[0]
            known = known_keys(section)
            if known is not None and key not in known and key not in seen:
                close = suggestion(section, key)
                hint = f" (did you mean {close!r}?)" if close else ""
                warnings.append(f"{CONFIG_NAME}:{number}: warning: unknown key {key!r} in [{section}]; it is ignored{hint}")
            if key in seen:
                again = f"[{section}] {key} is set again (first at line {seen[key]}); this value wins"
                warnings.append(f"{CONFIG_NAME}:{number}: warning: {again}")
            seen.setdefault(key, number)
    return warnings


def key_position(text: str, section: str, key: str) -> str:
    """``config.ini:LINE`` of ``key`` in ``[section]`` (its last setting, the one that wins), or the file name."""
    current, found = None, CONFIG_NAME
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].strip()
        elif current == section and line[:1] not in (" ", "\t") and re.match(rf"{re.escape(key)}\s*[=:]", stripped):
            found = f"{CONFIG_NAME}:{number}"
    return found


def check_collisions(reader: _Reader, config: Config) -> None:
    """Two tabs writing one library file, or the version file being a library: one would overwrite the other."""
    owners: dict[str, str] = {}
    for lib in config.libraries:
        path = PurePosixPath(lib.lib_file).as_posix()
        if path in owners:
            where = reader.where(f"library-{owners[path]}", "lib_file")
            raise reader.fail(f"library-{lib.tab}", "lib_file", f"{path} is also the library of tab {owners[path]} ({where})")
        owners[path] = lib.tab
    version = config.version_file and PurePosixPath(config.version_file).as_posix()
    if version in owners:
        raise reader.fail("library", "version_file", f"{version} is the library of tab {owners[version]}; name another file")


def is_absolute(path: str) -> bool:
    return PurePosixPath(path).is_absolute() or bool(PureWindowsPath(path).drive)


def leaves_root(path: str) -> bool:
    """Whether a relative path from the book's root is absolute or climbs above the root with ``..``."""
    if is_absolute(path):
        return True
    depth = 0
    for part in PurePosixPath(path).parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            return True
    return False


def check_paths(reader: _Reader, config: Config) -> None:
    """Every file or glob the config names stays inside the book's root, and no resource lies inside build/."""
    named = [("build", "index", config.index), ("library", "version_file", config.version_file)]
    named += [("build", key, value) for key, values in (("resources", config.resources), ("notebooks", config.notebooks),
              ("exclusions", config.exclusions), ("non-notebooks", config.non_notebooks)) for value in values]
    named += [(f"library-{lib.tab}", "lib_file", lib.lib_file) for lib in config.libraries]
    for section, key, value in named:
        if value and leaves_root(value):
            raise reader.fail(section, key, f"{value} is outside the book's root; name paths relative to the folder of {CONFIG_NAME}")
    globs = [("build", key, value) for key, values in (("notebooks", config.notebooks), ("exclusions", config.exclusions),
             ("non-notebooks", config.non_notebooks)) for value in values]
    for tab, settings in config.evals:
        globs += [(reader.eval_value(tab, "timeouts")[0], "timeouts", pattern) for pattern, _ in settings.timeouts]
        globs += [(reader.eval_value(tab, "gpu_sections")[0], "gpu_sections", pattern) for pattern in settings.gpu_sections]
    for section, key, pattern in globs:
        problem = glob_problem(pattern)
        if problem:
            raise reader.fail(section, key, problem)
    for resource in config.resources:
        if PurePosixPath(resource).parts[:1] == ("build",):
            raise reader.fail("build", "resources", f"{resource} is inside build/, which d2lbuild writes")


def _expression(text: str) -> bool:
    """Whether ``text`` is a Python expression (an alias target or template)."""
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError):
        return False
    return True


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0]


def split_top_level(value: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside brackets, so ``a -> f(x, y), b`` gives two items."""
    parts, depth, current = [], 0, []
    for char in value:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char in sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


class _Reader:
    """Typed access to the parser, raising BuildError with the key's line."""

    def __init__(self, parser: configparser.ConfigParser, text: str):
        self.parser = parser
        self.text = text

    def where(self, section: str, key: str) -> str:
        """``config.ini:LINE`` of ``key`` in ``[section]``, or just the file name."""
        return key_position(self.text, section, key)

    def fail(self, section: str, key: str, message: str) -> BuildError:
        return BuildError(self.where(section, key), f"[{section}] {key}: {message}")

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        if schema_key(section, key) is None:
            raise KeyError(f"[{section}] {key} is not in the config schema")
        value = self.parser.get(section, key, fallback=None)
        if value is None:
            return default
        return value.strip() or default

    def words(self, section: str, key: str) -> list[str]:
        value = self.get(section, key) or ""
        return [word for word in re.split(r"[\s,]+", value) if word]

    def lines(self, section: str, key: str) -> list[str]:
        value = self.get(section, key) or ""
        return [line.strip() for line in value.splitlines() if line.strip()]

    def tabs(self) -> tuple[str, ...]:
        names = [name.strip() for name in (self.get("build", "tabs") or "").split(",") if name.strip()]
        if not names:
            return ("default",)
        for name in names:
            if not _TAB_NAME.match(name) or name == "all":
                raise self.fail("build", "tabs", f"{name!r} is not a valid tab name")
        if len(set(names)) != len(names):
            raise self.fail("build", "tabs", "a tab is listed twice")
        return tuple(names)

    def mapping(self, section: str, key: str, nested: bool = False) -> tuple[tuple[str, str], ...]:
        """Entries ``a -> b`` or ``a`` (meaning ``a -> a``), split by lines, then by commas.

        As in d2lbook, a line break separates entries even without a comma, and a trailing ``(``
        (``exp(``) limits the notebook rewrite to calls while the library still gets ``exp``.
        ``nested`` entries (templates such as ``tf.cast(x, args)``) keep commas inside brackets.
        """
        pairs = []
        for line in (self.get(section, key) or "").splitlines():
            for item in split_top_level(line) if nested else [part.strip() for part in line.split(",") if part.strip()]:
                source, arrow, target = item.partition("->")
                source, target = source.strip(), target.strip()
                if not arrow:
                    target = source
                if not source.removesuffix("(").isidentifier() or not target or not _expression(target.removesuffix("(")):
                    raise self.fail(section, key, f"bad entry {item!r}: write 'name' or 'name -> target'")
                pairs.append((source, target))
        return tuple(pairs)

    def alias_lines(self, section: str) -> tuple[str, ...]:
        """``alias`` lines, copied into the library as they are: each must be Python."""
        lines = tuple(self.lines(section, "alias"))
        for line in lines:
            try:
                ast.parse(line)
            except (SyntaxError, RecursionError):
                raise self.fail(section, "alias", f"{line!r} is not Python; the library would not parse") from None
        return lines

    def reverse_mapping(self, section: str, key: str) -> tuple[tuple[str, str], ...]:
        """One ``text -> replacement`` per line (the text is literal, as d2lbook reads it)."""
        pairs = []
        for line in self.lines(section, key):
            source, arrow, replacement = line.partition("->")
            if not arrow or not source.strip():
                raise self.fail(section, key, f"bad entry {line!r}: write 'text -> replacement'")
            pairs.append((source.strip(), replacement.strip()))
        return tuple(pairs)

    def library(self, tab: str, first: bool) -> TabLibrary:
        section = f"library-{tab}"
        fallback_file = self.get("library", "save_filename") if first else None
        lib_file = self.get(section, "lib_file") or fallback_file or f"d2l/{DEFAULT_MODULES.get(tab, tab)}.py"
        return TabLibrary(
            tab=tab,
            lib_file=lib_file,
            lib_name=self.get(section, "lib_name", DEFAULT_MODULES.get(tab, tab)),
            simple_alias=self.mapping(section, "simple_alias"),
            fluent_alias=self.mapping(section, "fluent_alias"),
            args_alias=self.mapping(section, "args_alias", nested=True),
            alias_lines=self.alias_lines(section),
            reverse_alias=self.reverse_mapping(section, "reverse_alias"),
            alias_given=self.parser.has_option(section, "alias"),
            fluent_given=self.parser.has_option(section, "fluent_alias"),
        )

    def eval_value(self, tab: str, key: str) -> tuple[str, str | None]:
        """The section that sets ``key`` for ``tab`` and its value (``[eval-TAB]`` wins)."""
        for section in (f"eval-{tab}", "eval"):
            value = self.get(section, key)
            if value is not None:
                return section, value
        return "eval", None

    def seconds(self, section: str, key: str, value: str) -> float:
        try:
            seconds = float(value)
        except ValueError:
            raise self.fail(section, key, f"{value!r} is not a number of seconds") from None
        if not math.isfinite(seconds):
            raise self.fail(section, key, f"{value!r} is not a finite number of seconds")
        if seconds <= 0:
            raise self.fail(section, key, "must be more than 0 seconds")
        return seconds

    def eval_settings(self, tab: str) -> EvalSettings:
        section, device = self.eval_value(tab, "device")
        device = device or "auto"
        if device not in DEVICES:
            raise self.fail(section, "device", f"{device!r} is not one of {', '.join(DEVICES)}")
        section, timeout = self.eval_value(tab, "timeout")
        timeout_seconds = self.seconds(section, "timeout", timeout) if timeout else DEFAULT_TIMEOUT
        timeouts = []
        for section in ("eval", f"eval-{tab}"):  # per-tab globs are checked first
            for line in self.lines(section, "timeouts"):
                pattern, eq, seconds = line.rpartition("=")
                if not eq or not pattern.strip():
                    raise self.fail(section, "timeouts", f"bad entry {line!r}: write 'GLOB = SECONDS'")
                timeouts.insert(0, (pattern.strip(), self.seconds(section, "timeouts", seconds.strip())))
        env = []
        for section in ("eval", f"eval-{tab}"):
            for line in self.lines(section, "env"):
                key, eq, value = line.partition("=")
                if not eq or not key.strip().isidentifier():
                    raise self.fail(section, "env", f"bad entry {line!r}: write 'NAME = VALUE'")
                env.append((key.strip(), value.strip()))
        _, python = self.eval_value(tab, "python")
        _, requirements = self.eval_value(tab, "requirements")
        _, gpu = self.eval_value(tab, "gpu_sections")
        section, preload = self.eval_value(tab, "preload")
        preload_names = None if preload is None else tuple(re.split(r"[\s,]+", preload.strip()))
        if preload_names == ("none",):
            preload_names = ()
        for name in preload_names or ():
            if not all(part.isidentifier() for part in name.split(".")):
                raise self.fail(section, "preload", f"{name!r} is not a module name (or write 'none')")
        return EvalSettings(
            requirements=tuple(line.strip() for line in (requirements or "").splitlines() if line.strip()),
            python=python,
            env=tuple(env),
            device=device,
            timeout=timeout_seconds,
            timeouts=tuple(timeouts),
            gpu_sections=tuple((gpu or "").split()),
            preload=preload_names,
        )
