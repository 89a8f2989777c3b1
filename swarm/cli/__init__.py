"""The ``swarm`` command line: a typer app with one sub-app per concern.

:mod:`swarm` contributes ``run``, ``sweep``, ``plot``, ``report``, ``bench``, ``soul`` and
``dashboard``; other packages add theirs as entry points in the ``swarm.commands`` group
(a ``typer.Typer`` becomes a command group, a function a command), discovered when the
CLI starts. So ``training`` registers ``data``, ``train``, ``eval``, ``ab`` and ``demo``
without ``swarm`` importing it.

User mistakes (a bad option, a missing file, a bad config key or record: ``UserError``
or ``swarm.config.ConfigError``) print one line on stderr and exit with code 2;
:func:`main` is the console-script entry point.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import typer
from rich.markup import escape

from soul.files import Busy
from swarm.cli.bench import bench_app
from swarm.cli.common import UserError, console_err
from swarm.cli.dashboard import dashboard
from swarm.cli.plot import plot
from swarm.cli.report import report
from swarm.cli.run import run
from swarm.cli.serve import serve
from swarm.cli.soul import soul_app
from swarm.cli.sweep import sweep
from swarm.config import ConfigError

app = typer.Typer(
    name="swarm",
    help="Swarm lab: Mesa swarms of agents with souls, traces, voting and LM policies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(soul_app, name="soul")
app.add_typer(bench_app, name="bench")
app.command("run")(run)
app.command("dashboard")(dashboard)
app.command("sweep")(sweep)
app.command("plot")(plot)
app.command("report")(report)
app.command("serve")(serve)

#: The entry-point group through which packages add commands.
COMMANDS_GROUP = "swarm.commands"


def add_contributed_commands(target: typer.Typer) -> list[str]:
    """Add every command of the :data:`COMMANDS_GROUP` entry points; return their names."""
    names = []
    for ep in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            command = ep.load()
        except Exception as exc:  # a stale install must not take the other commands down
            console_err.print(
                f"[yellow]warning:[/] command {ep.name!r} ({ep.value}) is unavailable: "
                f"{type(exc).__name__}: {exc}",
                highlight=False,
                soft_wrap=True,
            )
            continue
        if isinstance(command, typer.Typer):
            target.add_typer(command, name=ep.name)
        else:
            target.command(ep.name)(command)
        names.append(ep.name)
    return names


add_contributed_commands(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors become one line and exit code 2."""
    try:
        app(args=argv, prog_name="swarm", standalone_mode=True)
    except (UserError, ConfigError, Busy, OSError) as exc:  # each names the file or key
        message = str(exc)
        if isinstance(exc, OSError) and exc.filename is not None:  # e.g. a file in the way
            message = f"{exc.filename}: {exc.strerror or exc}"
        console_err.print(
            f"[bold red]error:[/] {escape(one_line(message))}", highlight=False, soft_wrap=True
        )
        sys.exit(2)


def one_line(message: str) -> str:
    """``message`` with line breaks and other control characters (which a file name or a
    key from a user's file may hold) written as escapes: one line, and nothing a terminal
    would act on."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in message
    )


__all__ = ["app", "main"]
