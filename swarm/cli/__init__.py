"""The ``swarm`` command line: a typer app with one sub-app per concern.

User mistakes (a bad option, a missing file, a bad config key or record: ``UserError``
or ``swarm.config.ConfigError``) print one line on stderr and exit with code 2;
:func:`main` is the console-script entry point.
"""

from __future__ import annotations

import sys

import typer

from swarm.cli._common import UserError, console_err
from swarm.cli.bench import bench_app
from swarm.cli.dashboard import dashboard
from swarm.cli.data import data_app
from swarm.cli.demo import demo
from swarm.cli.evaluate import ab, eval_app
from swarm.cli.plot import plot
from swarm.cli.report import report
from swarm.cli.run import run
from swarm.cli.soul import soul_app
from swarm.cli.sweep import sweep
from swarm.cli.train import train_app
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
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.command("ab")(ab)
app.command("run")(run)
app.command("demo")(demo)
app.command("dashboard")(dashboard)
app.command("sweep")(sweep)
app.command("plot")(plot)
app.command("report")(report)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors become one line and exit code 2."""
    try:
        app(args=argv, prog_name="swarm", standalone_mode=True)
    except (UserError, ConfigError) as exc:  # a ConfigError names the file, key or record
        console_err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


__all__ = ["app", "main"]
