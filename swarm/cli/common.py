"""Helpers shared by the CLI commands."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

console = Console()
console_err = Console(stderr=True)


class UserError(Exception):
    """A mistake in what the user asked for: reported as one line, exit code 2."""


@contextmanager
def user_errors(prefix: str = "") -> Iterator[None]:
    """A ValueError raised inside (bad input found by the library) becomes a UserError:
    one line, exit code 2; ``prefix`` says what was wrong (e.g. ``--policy 'x': ``)."""
    try:
        yield
    except ValueError as exc:
        raise UserError(f"{prefix}{exc}") from None


def offline_models() -> None:
    """No model hub (never try one); no per-shard progress bars or deprecation noise."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import warnings

    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
