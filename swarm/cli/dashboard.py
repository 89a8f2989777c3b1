"""``swarm dashboard``: serve the dashboard (:mod:`swarm.apps.dashboard`) with Solara."""

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
    """Serve the live dashboard: World, Emergence, Souls and Decisions tabs."""
    from swarm.config import load_config
    from swarm.policies import check_policy

    try:
        import solara.lab  # noqa: F401
    except ImportError as exc:
        raise UserError(
            f"the dashboard needs the 'dashboard' extra (pip install -e '.[dashboard]'): {exc}"
        ) from None
    if config is not None:
        cfg = load_config(config)  # a bad file or key is one line, before the server starts
        with user_errors(f"{config}: model.policy: "):
            check_policy(cfg.model.policy)
    cmd, env = server_command(host, port, config.resolve() if config is not None else None)
    console.print(f"dashboard on http://{host}:{port} (Ctrl-C stops it)")
    sys.stdout.flush()
    # Become the server (no child left behind when this process is stopped).
    os.execve(sys.executable, cmd, env)


#: Solara settings that keep the server off the network: no telemetry (on by default) and
#: no version check against the package index at start.
OFFLINE_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "HF_HUB_OFFLINE": "1",
}


def server_command(host: str, port: int, config: Path | None) -> tuple[list[str], dict[str, str]]:
    """The ``solara run`` command line and environment that serve the dashboard."""
    env = dict(os.environ) | OFFLINE_ENV
    if config is not None:
        env["SWARM_DASHBOARD_CONFIG"] = str(config)
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
        "--no-check-version",
    ]
    return cmd, env
