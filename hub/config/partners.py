"""Read every partner file, merge instance overrides, resolve adapters; one error for all."""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import hub
from hub.errors import ConfigError
from hub.partners.base import PartnerAdapter
from hub.partners.model import ConfigProblem, PartnerConfig, PartnerConfigError, parse_partner
from hub.settings import Settings

#: Key of a problem that concerns a whole file rather than one of its keys.
FILE_KEY: Final = "(file)"
_TOML_POSITION: Final = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


@dataclass(frozen=True, slots=True)
class LoadedPartner:
    """A validated partner with the files it came from and which file set each value."""

    config: PartnerConfig
    #: The repo file, then the instance override if there is one.
    files: tuple[Path, ...]
    #: Dotted key (``sftp.host``) -> file that set it; keys absent here took their default.
    origins: Mapping[str, str]


def default_partners_dir() -> Path:
    """The repository's ``config/partners`` folder."""
    return Path(hub.__file__).resolve().parent.parent / "config" / "partners"


def load_partners(repo_dir: Path, instance_dir: Path | None = None) -> dict[str, PartnerConfig]:
    """Every partner of ``repo_dir``, with ``<instance_dir>/partners/<id>.toml`` merged over.

    :raises PartnerConfigError: with every problem of every file.
    """
    return {pid: p.config for pid, p in load_partner_files(repo_dir, instance_dir).items()}


def load_partner_files(repo_dir: Path, instance_dir: Path | None = None,
                       *, only: str | None = None) -> dict[str, LoadedPartner]:
    """Like :func:`load_partners`, keeping provenance; ``only`` reads that one partner.

    :raises PartnerConfigError: with every problem of every file read.
    """
    problems: list[ConfigProblem] = []
    repo_files = _toml_files(repo_dir, problems, required=True)
    override_dir = instance_dir / "partners" if instance_dir is not None else None
    overrides = _toml_files(override_dir, problems, required=False) if override_dir else {}
    if only is not None:
        if only not in repo_files and not problems:
            problems.append(ConfigProblem(str(repo_dir), FILE_KEY,
                                          f'no partner "{only}" ({only}.toml)'))
        repo_files = {only: repo_files[only]} if only in repo_files else {}
    else:
        for stem, path in overrides.items():
            if stem not in repo_files:
                # Probably a typo in the name: the override would silently do nothing.
                problems.append(ConfigProblem(
                    str(path), FILE_KEY, f'overrides no partner: there is no "{stem}.toml" '
                                         f"in {repo_dir}"))

    loaded: dict[str, LoadedPartner] = {}
    for stem, path in repo_files.items():
        partner = _load_one(stem, path, overrides.get(stem), problems)
        if partner is not None:
            loaded[stem] = partner
    if problems:
        raise PartnerConfigError(problems)
    return loaded


def resolve_adapter(path: str) -> type[PartnerAdapter]:
    """The class named by ``package.module:Class``.

    :raises ConfigError: saying why it cannot be used.
    """
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f'cannot import "{module_name}": {exc}') from exc
    except (Exception, SystemExit) as exc:
        # A third-party adapter module can fail in any way while importing (even call
        # sys.exit); `hub partners check` must still report it as a problem of this file.
        raise ConfigError(f'importing "{module_name}" failed: {type(exc).__name__}: {exc}'
                          ) from exc
    if not hasattr(module, class_name):
        raise ConfigError(f'module "{module_name}" has no attribute "{class_name}"')
    cls = getattr(module, class_name)
    if not isinstance(cls, type):
        raise ConfigError(f'"{path}" is not a class')
    if not issubclass(cls, PartnerAdapter):
        raise ConfigError(f'"{path}" is not a subclass of hub.partners.base.PartnerAdapter')
    return cls


def describe(partner: LoadedPartner) -> Iterator[tuple[str, Any, str]]:
    """Every effective value as ``(dotted key, value, origin)``; origin ``default`` if unset.

    Plain keys come first and tables after, the order a TOML file needs.
    """
    config = partner.config
    tables: list[tuple[str, Any]] = []
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name == "source":
            continue
        if is_dataclass(value) or isinstance(value, Mapping):
            tables.append((f.name, value))
            continue
        yield f.name, value, partner.origins.get(f.name, "default")
    for name, value in tables:
        if isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                key = f"{name}.{sub_key}"
                yield key, sub_value, partner.origins.get(key, _origin_under(partner, key))
            continue
        for sub in fields(value):
            key = f"{name}.{sub.name}"
            yield key, getattr(value, sub.name), partner.origins.get(key, "default")


def _origin_under(partner: LoadedPartner, key: str) -> str:
    # An option whose value is a table has only its leaves recorded.
    return next((o for k, o in partner.origins.items() if k.startswith(f"{key}.")), "default")


def _toml_files(folder: Path, problems: list[ConfigProblem],
                *, required: bool) -> dict[str, Path]:
    if not folder.is_dir():
        if required:
            problems.append(ConfigProblem(str(folder), FILE_KEY, "no such folder"))
        return {}
    files = {p.stem: p for p in sorted(folder.glob("*.toml"))}
    if required and not files:
        problems.append(ConfigProblem(str(folder), FILE_KEY, "no partner files (*.toml)"))
    return files


def _load_one(stem: str, path: Path, override: Path | None,
              problems: list[ConfigProblem]) -> LoadedPartner | None:
    data = _read_toml(path, problems)
    extra = _read_toml(override, problems) if override is not None else {}
    if data is None:
        return None
    if extra is None:
        # The override cannot be read: the repo file's own problems still count.
        _load_one(stem, path, None, problems)
        return None
    origins = dict.fromkeys(_leaf_keys(data), str(path))
    files: tuple[Path, ...] = (path,)
    source = str(path)
    if override is not None:
        data = _merge(data, extra, str(override), origins)
        files = (path, override)
        source = f"{path} + {override}"
    try:
        config = parse_partner(data, source=source, stem=stem, origins=origins)
    except PartnerConfigError as exc:
        problems.extend(exc.problems)
        # Its adapter too, when it is named well enough to try: every problem at once.
        adapter, fmt = data.get("adapter"), data.get("format")
        if isinstance(adapter, str) and not any(p.key == "adapter" for p in exc.problems):
            _check_adapter(adapter, fmt if isinstance(fmt, str) else None, origins, source,
                           problems, str(path))
        return None
    if config.adapter is not None and not _check_adapter(
            config.adapter, config.format, origins, config.source, problems, str(path)):
        return None
    return LoadedPartner(config, files, MappingProxyType(origins))


def _check_adapter(path: str, fmt: str | None, origins: Mapping[str, str], source: str,
                   problems: list[ConfigProblem], repo_file: str) -> bool:
    try:
        cls = resolve_adapter(path)
    except ConfigError as exc:
        problems.append(ConfigProblem(origins.get("adapter", source), "adapter", str(exc)))
        return False
    if fmt is not None and cls.formats is not None and fmt not in cls.formats:
        written = ", ".join(sorted(cls.formats))
        # The file to mend is the one that set the later of the two: an override's
        # adapter over the repo file's format is the override's mistake.
        key = "adapter" if origins.get("adapter", repo_file) != repo_file else "format"
        problems.append(ConfigProblem(origins.get(key, source), key,
                                      f'"{fmt}" is not written by {path} (it writes {written})'))
        return False
    return True


def _read_toml(path: Path, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        problems.append(ConfigProblem(str(path), FILE_KEY, f"cannot read: {exc.strerror}"))
        return None
    except UnicodeDecodeError as exc:
        problems.append(ConfigProblem(str(path), FILE_KEY,
                                      f"not UTF-8 (byte {exc.start}): TOML files are UTF-8"))
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(_syntax_problem(path, str(exc)))
        return None


def _syntax_problem(path: Path, message: str) -> ConfigProblem:
    match = _TOML_POSITION.search(message)
    if match is None:
        return ConfigProblem(str(path), FILE_KEY, f"TOML syntax: {message}")
    reason = message[:match.start()]
    line, column = match.groups()
    if line is None:
        return ConfigProblem(str(path), "end of file", f"TOML syntax: {reason}")
    return ConfigProblem(str(path), f"line {line}", f"TOML syntax: {reason} (column {column})")


def _leaf_keys(value: Any, prefix: str = "") -> Iterator[str]:
    # Lists are leaves: an override replaces a list, it never merges into it.
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            yield from _leaf_keys(sub, f"{prefix}{key}.")
    elif prefix:
        yield prefix[:-1]


def _merge(base: Mapping[str, Any], over: Mapping[str, Any], over_source: str,
           origins: dict[str, str], prefix: str = "") -> dict[str, Any]:
    """``over`` deep-merged into ``base``: tables merge, every other value replaces."""
    merged = dict(base)
    for key, value in over.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, over_source, origins, f"{dotted}.")
            continue
        merged[key] = value
        # What the override replaced no longer comes from the repo file.
        for stale in [k for k in origins if k == dotted or k.startswith(f"{dotted}.")]:
            del origins[stale]
        for leaf in _leaf_keys(value, f"{dotted}."):
            origins[leaf] = over_source
    return merged


def adapter_for(config: PartnerConfig) -> PartnerAdapter:
    """The partner's adapter: its own class if the file names one, else the generic one."""
    cls = resolve_adapter(config.adapter) if config.adapter else PartnerAdapter
    return cls(config)


def load_adapters(settings: Settings) -> dict[str, PartnerAdapter]:
    """Every partner of this deployment (repo files merged with instance overrides)."""
    configs = load_partners(settings.partners_path, settings.instance_path)
    return {pid: adapter_for(config) for pid, config in configs.items()}
