"""``swarm dashboard``: serve the SolaraViz page (:mod:`swarm.apps.dashboard`) with Solara."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from swarm.cli.common import UserError, console, user_errors


def dashboard(
    config: Path | None = typer.Option(
        None, "--config", help="A run config (YAML): the model's starting parameters."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port (0: any free)."),
) -> None:
    """Serve the live dashboard: the grid and its traces, plots, an Emergence tab."""
    from swarm.config import load_config
    from swarm.policies import check_policy

    try:
        import solara  # noqa: F401
        from mesa.visualization import SolaraViz  # noqa: F401
    except ImportError as exc:
        raise UserError(
            f"the dashboard needs the 'dashboard' extra (pip install -e '.[dashboard]'): {exc}"
        ) from None
    env = dict(os.environ)
    if config is not None:
        cfg = load_config(config)  # a bad file or key is one line, before the server starts
        with user_errors(f"{config}: model.policy: "):
            check_policy(cfg.model.policy)
        env["SWARM_DASHBOARD_CONFIG"] = str(config.resolve())
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("MPLBACKEND", "Agg")
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "swarm.apps.dashboard",
        "--host",
        host,
        "--port",
        str(port),
        "--no-open",
        "--production",
    ]
    console.print(f"dashboard on http://{host}:{port} (Ctrl-C stops it)")
    sys.stdout.flush()
    # Become the server (no child left behind when this process is stopped).
    os.execve(sys.executable, cmd, env)
