"""``swarm serve``: a model or adapter directory behind the OpenAI chat-completions API."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.cli.common import UserError, console, offline_models, user_errors


def serve(
    path: Path = typer.Argument(..., help="A model or adapter directory (what lm:PATH loads)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    api_key: str | None = typer.Option(
        None, "--api-key", help="Require Authorization: Bearer KEY on every request."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda[:N] or mps."),
) -> None:
    """Serve PATH on /v1/models and /v1/chat/completions (guided_choice, logprobs, usage)."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UserError(
            "swarm serve needs the chat extra: pip install 'swarm-soul[chat]'"
        ) from None
    from swarm.apps.serve import serve as run_server
    from swarm.policies.lm import check_device, check_model_dir

    offline_models()
    with user_errors():  # the message names the path
        check_model_dir(path)
    with user_errors("--device: "):
        check_device(device)
    console.print(f"serving {path} on http://{host}:{port}/v1 (Ctrl-C stops)")
    run_server(path, host=host, port=port, api_key=api_key, device=device)
