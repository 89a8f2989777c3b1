"""Run configuration: YAML validated by pydantic; unknown keys are errors naming the key.

:class:`RunConfig` is what ``swarm run`` runs (a seed, a number of steps and the model's
parameters, :class:`swarm.params.ModelParams`); the helpers load, validate and describe
any config class the same way."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from swarm.params import ModelParams

__all__ = [
    "ConfigError",
    "ModelParams",
    "RunConfig",
    "coerce",
    "describe",
    "dump_yaml",
    "load_config",
    "load_yaml",
    "validate",
]

T = TypeVar("T", bound=BaseModel)


class ConfigError(ValueError):
    """A config that cannot be used; the message names the file and the key."""


class RunConfig(BaseModel):
    """What ``swarm run`` runs: the model's parameters, a seed and a number of steps."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    steps: int = Field(200, ge=1)
    model: ModelParams = Field(default_factory=ModelParams)

    @field_validator("model")
    @classmethod
    def _named(cls, v: ModelParams) -> ModelParams:
        return v.named_policy()


def describe(exc: ValidationError, source: str, prefix: str = "") -> str:
    """One line for the first problem in ``exc``: where, which key, what is wrong.
    ``prefix`` is the path of the validated part inside the file (e.g. ``model``)."""
    err = exc.errors()[0]
    key = ".".join([prefix] * bool(prefix) + [str(p) for p in err["loc"]]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown key {key!r}"
    return f"{source}: {key}: {err['msg'].removeprefix('Value error, ')}"


def validate(cls: type[T], data: Any, source: str, prefix: str = "") -> T:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, source, prefix)) from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to be a config") from None


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file; a missing or malformed file is a :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config") from None
    if data is None:  # an empty file is a mistake, not a request for the defaults
        raise ConfigError(f"{path}: empty (no settings); leave the file out for the defaults")
    return data


def load_config(path: str | Path, cls: type[T] = RunConfig) -> T:
    """Load and validate a YAML config file."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return validate(cls, data, str(path))


def coerce(cls: type[T], config: Any, what: str) -> T:
    """``config`` as a ``cls``: an instance as is, a mapping validated, else a YAML path
    loaded (``what`` names the config in error messages, e.g. ``curation config``)."""
    if isinstance(config, cls):
        return config
    if isinstance(config, Mapping):
        return validate(cls, dict(config), what)
    return load_config(config, cls)


def dump_yaml(model: BaseModel) -> str:
    return yaml.safe_dump(model.model_dump(mode="json"), sort_keys=False)
