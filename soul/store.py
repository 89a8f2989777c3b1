"""Persistence: one JSON file per soul in a directory, written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import ValidationError

from soul.files import TMP_PREFIX, atomic_write_text, exclusive
from soul.schema import Soul, validate_soul_id

_SUFFIX = ".json"


class SoulFileError(ValueError):
    """A soul file exists but cannot be read as a soul. The message names the file."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


class SoulStore:
    """Souls saved as ``<directory>/<id>.json``.

    Example::

        store = SoulStore("souls/")
        soul = store.load_or_create("agent-7", name="Ada")
        soul.apply(TaskCompleted(domain="technical", task_type="coordination",
                                 difficulty=0.5, quality=0.9))
        store.save(soul)
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def lock(self, *, wait: bool = False):
        """Hold the store for one run: from loading its souls to saving them. Two runs on
        one store would each save their own copies and one run's progress would be lost;
        with ``wait=False`` the second gets a :class:`soul.files.Busy` error at once."""
        return exclusive(self.directory, "the soul store", wait=wait)

    def path_for(self, soul_id: str) -> Path:
        """The file of ``soul_id`` (raises ``ValueError`` naming a bad id)."""
        return self.directory / f"{validate_soul_id(soul_id)}{_SUFFIX}"

    def __contains__(self, soul_id: str) -> bool:
        return self.path_for(soul_id).exists()

    def ids(self) -> list[str]:
        """Ids of the stored souls, sorted."""
        return sorted(
            p.name[: -len(_SUFFIX)]
            for p in self.directory.glob(f"*{_SUFFIX}")
            if not p.name.startswith(TMP_PREFIX)
        )

    list = ids

    def load(self, soul_id: str) -> Soul:
        """Read a soul. Raises ``KeyError`` if absent, :class:`SoulFileError` if corrupt."""
        path = self.path_for(soul_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise KeyError(f"no soul {soul_id!r} in {self.directory}") from None
        except OSError as exc:  # e.g. a directory where the file should be
            raise SoulFileError(path, f"cannot be read ({exc.strerror or exc})") from None
        return self._parse(path, raw, soul_id)

    def load_or_create(self, soul_id: str, name: str = "") -> Soul:
        """Load ``soul_id``, or return a new soul with that id if none is stored."""
        try:
            return self.load(soul_id)
        except KeyError:
            return Soul(id=soul_id, name=name)

    def save(self, soul: Soul) -> Path:
        """Write ``soul`` atomically. A corrupt file in its place is an error, never
        silently overwritten: delete it first if that is what you mean."""
        path = self.path_for(soul.id)
        if path.exists():
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise SoulFileError(path, f"cannot be read ({exc.strerror or exc})") from None
            self._parse(path, raw, soul.id)
        atomic_write_text(path, soul.to_json())
        return path

    def delete(self, soul_id: str) -> None:
        """Remove a soul's file. Raises ``KeyError`` if absent."""
        try:
            self.path_for(soul_id).unlink()
        except FileNotFoundError:
            raise KeyError(f"no soul {soul_id!r} in {self.directory}") from None

    @staticmethod
    def _parse(path: Path, raw: bytes, soul_id: str) -> Soul:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SoulFileError(path, f"not valid JSON ({exc})") from None
        except RecursionError:
            raise SoulFileError(path, "nested too deeply to be a soul") from None
        try:
            soul = Soul.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "soul"
            raise SoulFileError(path, f"not a valid soul: {where}: {first['msg']}") from None
        if soul.id != soul_id:
            raise SoulFileError(path, f"holds soul {soul.id!r}, expected {soul_id!r}")
        return soul
