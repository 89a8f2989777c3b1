"""``swarm soul``: look at stored souls."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from soul import Soul, SoulFileError, SoulStore
from swarm.cli.common import UserError, console

soul_app = typer.Typer(help="Inspect souls in a soul store.", no_args_is_help=True)


def soul_table(soul: Soul) -> Table:
    """A rich table of one soul: level, progress, achievements, strengths."""
    table = Table(
        title=f"Soul {soul.id}" + (f" ({soul.name})" if soul.name else ""), show_header=False
    )
    table.add_column("field", style="bold")
    table.add_column("value")
    nxt = soul.xp_to_next_level
    table.add_row("level", soul.level.value)
    table.add_row("xp", str(soul.xp))
    table.add_row(
        "next level",
        "top level reached"
        if nxt is None
        else f"{nxt} XP to go ({soul.level_progress:.0%} of this level)",
    )
    table.add_row("achievements", ", ".join(soul.achievement_names) or "none yet")
    meta = soul.meta_learning
    table.add_row("strength domains", ", ".join(meta.strength_domains) or "-")
    table.add_row("preferred task types", ", ".join(meta.preferred_task_types) or "-")
    table.add_row("avoid patterns", ", ".join(meta.avoid_patterns) or "-")
    table.add_row(
        "learning rate / adaptability", f"{meta.learning_rate:.2f} / {meta.adaptability_score:.2f}"
    )
    for domain, rec in sorted(soul.domains.items()):
        table.add_row(
            f"domain {domain}",
            f"{rec.successes} done, {rec.failures} failed, skill {rec.skill:.2f}",
        )
    table.add_row("agents helped", f"{len(soul.agents_helped)} distinct, {soul.times_helped} times")
    return table


@soul_app.command("show")
def show(
    soul_id: str = typer.Argument(..., metavar="ID", help="The soul's id."),
    store: Path = typer.Option(..., "--store", help="The soul store directory."),
) -> None:
    """Print one soul as a table."""
    if not store.is_dir():
        raise UserError(f"--store {store}: no such directory")
    try:
        soul = SoulStore(store).load(soul_id)
    except (KeyError, ValueError) as exc:  # SoulFileError is a ValueError
        msg = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        raise UserError(msg) from None
    console.print(soul_table(soul))


@soul_app.command("list")
def list_souls(
    store: Path = typer.Option(..., "--store", help="The soul store directory."),
) -> None:
    """List the souls in a store with their level and XP."""
    if not store.is_dir():
        raise UserError(f"--store {store}: no such directory")
    s = SoulStore(store)
    table = Table("id", "name", "level", "xp", "achievements")
    for soul_id in s.ids():
        try:
            soul = s.load(soul_id)
        except SoulFileError as exc:
            table.add_row(soul_id, "[red]unreadable[/]", "-", "-", str(exc))
            continue
        table.add_row(
            soul.id, soul.name, soul.level.value, str(soul.xp), ", ".join(soul.achievement_names)
        )
    console.print(table)
