"""Load every script manifest from a folder, keeping going past broken ones.

A broken manifest never hides the others: the loader returns the valid scripts
plus one :class:`SpecError` per problem, each naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ylai_operators.manifest import Runtime, ScriptManifest
from ylai_operators.spec_cache import SpecCache, digest

MANIFEST_SUFFIXES = (".yaml", ".yml")
_RUNTIME_BY_SUFFIX: dict[str, Runtime] = {".py": "python", ".sh": "bash", ".bash": "bash"}


@dataclass(frozen=True)
class SpecError:
    """One problem in one spec file: ``<file>[:line]: <where>: <reason>``."""

    path: Path
    where: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        loc = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{loc}: {self.where}: {self.reason}" if self.where else f"{loc}: {self.reason}"


@dataclass(frozen=True)
class Script:
    """A registered script: its manifest and where its files are."""

    manifest: ScriptManifest
    path: Path
    manifest_path: Path
    content: str | None = None  # set for scripts stored in the database (POST /scripts)
    version: int | None = None

    @property
    def name(self) -> str:
        """The script's slug."""
        return self.manifest.name

    @property
    def runtime(self) -> Runtime:
        """How the script is started."""
        assert self.manifest.runtime is not None
        return self.manifest.runtime


@dataclass
class Registry:
    """The scripts of a folder and the errors found while loading it."""

    scripts: dict[str, Script] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)


def read_yaml(path: Path, raw: bytes | None = None) -> tuple[Any, SpecError | None]:
    """Parse a YAML file (or its already read bytes); on a syntax error return a :class:`SpecError` with the line."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader parses ~10x faster
    try:
        text = path.read_text(encoding="utf-8") if raw is None else raw.decode("utf-8")
        return yaml.load(text, Loader=loader), None  # noqa: S506 - SafeLoader
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        return None, SpecError(path, "", f"invalid YAML: {exc.problem or exc}", line)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, SpecError(path, "", f"cannot read: {exc}")


def pydantic_errors(path: Path, exc: Any, prefix: str = "") -> list[SpecError]:
    """Turn a pydantic ``ValidationError`` into one :class:`SpecError` per field."""
    errors = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        errors.append(SpecError(path, f"{prefix}{loc}" if loc else prefix.rstrip("."), msg))
    return errors


def _find_entrypoint(
    manifest_path: Path, entrypoint: str | None, root: Path, siblings: list[Path] | None = None
) -> Path | SpecError:
    """Locate the script of a manifest: ``entrypoint``, or the one file beside it with its stem.

    :param siblings: the non-manifest files of the folder with the manifest's stem, when the
        caller listed the folder already (``load_registry`` lists the whole tree once).
    """
    folder = manifest_path.parent
    resolved_root = root.resolve()
    if entrypoint:
        candidate = (folder / entrypoint).resolve()
        if not candidate.is_relative_to(resolved_root):
            return SpecError(manifest_path, "entrypoint", "must stay inside the scripts folder")
        if not candidate.is_file():
            return SpecError(manifest_path, "entrypoint", f"file {entrypoint!r} does not exist")
        return candidate
    if siblings is None:
        siblings = [
            p
            for p in folder.iterdir()
            if p.stem == manifest_path.stem and p.suffix not in MANIFEST_SUFFIXES and p.is_file()
        ]
    if len(siblings) != 1:
        found = ", ".join(sorted(p.name for p in siblings)) or "none"
        return SpecError(
            manifest_path,
            "entrypoint",
            f"expected exactly one script named {manifest_path.stem}.* beside the manifest (found: {found}); "
            "or set 'entrypoint'",
        )
    if not siblings[0].resolve().is_relative_to(resolved_root):
        # A symlink to a file elsewhere would run code nobody reviews with the DAGs.
        return SpecError(manifest_path, "entrypoint", f"{siblings[0].name} points outside the scripts folder")
    return siblings[0]


def _validate_manifest(manifest_path: Path, raw: bytes | None) -> ScriptManifest | list[SpecError]:
    from pydantic import ValidationError

    data, error = read_yaml(manifest_path, raw)
    if error:
        return [error]
    if not isinstance(data, dict):
        return [SpecError(manifest_path, "", "a manifest must be a YAML mapping")]
    try:
        return ScriptManifest.model_validate(data)
    except ValidationError as exc:
        return pydantic_errors(manifest_path, exc)


def load_manifest(
    manifest_path: Path,
    root: Path | None = None,
    *,
    siblings: list[Path] | None = None,
    cache: SpecCache | None = None,
) -> Script | list[SpecError]:
    """Load and validate one manifest and locate its script inside ``root`` (default: its folder).

    :param siblings: see :func:`_find_entrypoint`.
    :param cache: validated manifests from earlier loads (see :mod:`ylai_operators.spec_cache`).
    """
    manifest: ScriptManifest | list[SpecError] | None = None
    raw: bytes | None = None
    key = ""
    if cache is not None:
        try:
            raw = manifest_path.read_bytes()
        except OSError:
            raw = None
        if raw is not None:
            key = digest(raw)
            manifest = cache.get(manifest_path, key)
    if manifest is None:
        manifest = _validate_manifest(manifest_path, raw)
        if cache is not None and raw is not None and isinstance(manifest, ScriptManifest):
            cache.put(manifest_path, key, manifest, name=manifest.name)
    if isinstance(manifest, list):
        return manifest
    script_path = _find_entrypoint(manifest_path, manifest.entrypoint, root or manifest_path.parent, siblings)
    if isinstance(script_path, SpecError):
        return [script_path]
    if manifest.runtime is None:
        runtime = _RUNTIME_BY_SUFFIX.get(script_path.suffix, "executable")
        manifest = manifest.model_copy(update={"runtime": runtime})
    return Script(manifest=manifest, path=script_path, manifest_path=manifest_path)


def list_tree(folder: Path) -> list[Path]:
    """Every file under ``folder`` (sorted), listed once."""
    return sorted(p for p in folder.rglob("*") if p.is_file())


def load_registry(folder: Path, *, use_cache: bool = True, names: Collection[str] | None = None) -> Registry:
    """Load every manifest under ``folder``; broken ones become errors, the rest load.

    :param use_cache: reuse manifests validated by earlier loads (:mod:`ylai_operators.spec_cache`).
    :param names: only these scripts are needed (building one DAG): when the cache knows the
        file of each, only those files are read and the registry holds only them, without
        errors; else (a new or renamed script) the whole folder is loaded.
    """
    registry = Registry()
    if not folder.is_dir():
        return registry
    cache = SpecCache("manifests", folder) if use_cache else None
    if cache is not None and names is not None:
        found = _load_named(folder, cache, names)
        if found is not None:
            return found
    files = list_tree(folder)
    manifests = [p for p in files if p.suffix in MANIFEST_SUFFIXES]
    by_stem: dict[tuple[Path, str], list[Path]] = {}
    for p in files:
        if p.suffix not in MANIFEST_SUFFIXES:
            by_stem.setdefault((p.parent, p.stem), []).append(p)
    for manifest_path in manifests:
        siblings = by_stem.get((manifest_path.parent, manifest_path.stem), [])
        loaded = load_manifest(manifest_path, folder, siblings=siblings, cache=cache)
        if isinstance(loaded, list):
            registry.errors.extend(loaded)
            continue
        if loaded.name in registry.scripts:
            other = registry.scripts[loaded.name].manifest_path.name
            registry.errors.append(SpecError(manifest_path, "name", f"{loaded.name!r} is already used by {other}"))
            continue
        registry.scripts[loaded.name] = loaded
    if cache is not None:
        cache.save()
    return registry


def _load_named(folder: Path, cache: SpecCache, names: Collection[str]) -> Registry | None:
    """The scripts ``names`` from the files the cache last saw them in, or ``None`` if one is not there.

    Each file is read and its digest checked as in a full load, so an edited manifest is
    validated again; a file that moved, broke or now names another script means a full load.
    Like the full load, the first file (sorted) with a name wins. A file added since the
    cache was written is not seen here: the dag-processor's next parse (which the catalog
    watch asks for within seconds) caches it.
    """
    registry = Registry()
    for name in names:
        paths = cache.paths_named(name)
        if not paths:
            return None
        loaded = load_manifest(paths[0], folder, cache=cache)
        if isinstance(loaded, list) or loaded.name != name:
            return None
        registry.scripts[name] = loaded
    return registry
