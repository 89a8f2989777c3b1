"""``swarm eval build|run`` and ``swarm ab``: the evaluation dataset, a policy's
evaluation report, and the A/B test with its Go/No-Go table."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.cli.common import console, offline_models, user_errors

eval_app = typer.Typer(
    help="Evaluation: build the scenario dataset, evaluate a policy.", no_args_is_help=True
)

CONFIG_HELP = "Evaluation settings (YAML, e.g. experiments/eval.yaml); defaults otherwise."


@eval_app.command("build")
def build(
    out: Path = typer.Option(..., "--out", help="Where to write the dataset."),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    training_data: Path | None = typer.Option(
        None, "--training-data", help="A curated data directory whose seeds must be avoided."
    ),
) -> None:
    """Freeze scenarios from expert simulations: 200 coordination, 100 handoff, 100
    conflict, 50 constitutional (by default), each with its acceptable actions."""
    from training.eval.dataset import build_dataset

    with user_errors():
        m = build_dataset(out, config, training_data=training_data, progress=True)
    counts = ", ".join(f"{k} {v}" for k, v in m["counts"].items())
    console.print(
        f"{m['scenarios']} scenarios ({counts}) from seeds {m['seeds'][0]}..{m['seeds'][1]} "
        f"(disjoint from {m['training_seeds_checked']} training seeds); wrote {out}"
    )


@eval_app.command("run")
def run(
    policy: str = typer.Option(..., "--policy", help="heuristic | random | lm:PATH"),
    dataset: Path = typer.Option(..., "--dataset", help="A dataset from `swarm eval build`."),
    out: Path = typer.Option(..., "--out", help="Where to write the report."),
    episodes: int = typer.Option(5, "--episodes", min=1, help="Closed-loop episodes."),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    critique: bool = typer.Option(
        False, "--critique", help="Also the model's own critique-and-revise pass (lm: only)."
    ),
) -> None:
    """Accuracy per category, closed-loop task success, compliance, coordination, latency
    and cost: report.json (inspect_ai-shaped), report.md and plots."""
    from training.eval.report import evaluate

    if policy.startswith("lm:"):
        offline_models()
    with user_errors():
        report = evaluate(
            policy, dataset, out, episodes=episodes, config=config, critique=critique, progress=True
        )
    console.print((out / "report.md").read_text(), markup=False)
    console.print(f"report: {out / 'report.json'} ({report['results']['total_samples']} samples)")


def ab(
    control: str = typer.Option(..., "--control", help="The control policy."),
    test: str = typer.Option(..., "--test", help="The test policy."),
    out: Path = typer.Option(..., "--out", help="Where to write ab.json and ab.md."),
    split: float = typer.Option(0.2, "--split", help="Share of agents on the test arm."),
    episodes: int = typer.Option(10, "--episodes", min=1, help="Episodes (simulations)."),
    dataset: Path | None = typer.Option(
        None, "--dataset", help="Scenario dataset for the paired (McNemar) comparison."
    ),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
) -> None:
    """A/B test with a traffic split inside the same swarm; the Go/No-Go table."""
    from training.eval.ab import ab_test

    if "lm:" in control + test:
        offline_models()
    with user_errors():
        result = ab_test(
            control, test, out, split=split, episodes=episodes, dataset=dataset, config=config,
            progress=True,
        )  # fmt: skip
    console.print((out / "ab.md").read_text(), markup=False)
    console.print(f"decision: {result['decision']}; {out / 'ab.json'}")
