"""Helpers shared by the CLI commands."""

from __future__ import annotations

from rich.console import Console

console = Console()
console_err = Console(stderr=True)


class UserError(Exception):
    """A mistake in what the user asked for: reported as one line, exit code 2."""
