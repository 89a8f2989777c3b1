"""Every name the README documents imports from the path it shows, and the old module
paths of moved code give the same objects as their new homes."""

import importlib
import subprocess
import sys

import pytest

DOCUMENTED = {
    "swarm": [
        "SwarmModel",
        "ModelParams",
        "TraceGrid",
        "ChannelSpec",
        "DEFAULT_DOMAINS",
        "rollout",
        "Recorder",
        "StepRecord",
    ],
    "swarm.traces": ["TraceGrid", "ChannelSpec", "DEFAULT_CHANNELS"],
    "swarm.text": [
        "render_observation",
        "render_user",
        "render_action",
        "parse_action",
        "deferred_takes",
        "ActionParseError",
    ],
    "swarm.voting": ["weighted_vote", "borda", "collective_decision", "RULES"],
    "swarm.emergence": [
        "psi",
        "delta",
        "gamma",
        "emergence_report",
        "mutual_information",
        "division_of_labour",
        "spatial_entropy",
        "field_entropy",
        "collective_intelligence_ratio",
    ],
    "swarm.constitution": ["check", "complies", "rules", "constitution_text"],
    "swarm.plots": ["emergence_figure", "summary_figure", "grid_figure", "save_figure"],
    "swarm.agreement": ["policy_agreement"],
    "swarm.sweep": ["run_sweep", "load_sweep", "expand", "execute", "RunSpec"],
    "swarm.analysis": ["summarise", "summary_markdown", "to_markdown", "mean_ci"],
    "swarm.metrics": [
        "StepRecord",
        "Counts",
        "MODEL_REPORTERS",
        "completion_rate",
        "conflict_rate",
        "handoff_success_rate",
        "decision_quality",
        "novel_solution_rate",
        "position_entropy",
        "field_entropy",
    ],
    "swarm.params": ["ModelParams", "DEFAULT_DOMAINS", "default_task_rate"],
    "swarm.config": ["RunConfig", "ModelParams", "ConfigError", "load_config"],
    "swarm.policies": [
        "Policy",
        "bind",
        "make_policy",
        "check_policy",
        "POLICIES",
        "HeuristicPolicy",
        "NoTracesPolicy",
        "RandomPolicy",
        "PrivateMemoryPolicy",
        "ExpertWeights",
    ],
    "swarm.policies.lm": ["LMPolicy", "load_model", "check_model_dir"],
    "swarm.interface.chat_format": [
        "ChatFormat",
        "check_template",
        "shared_prompt_prefix",
        "load_chat_format",
        "save_chat_format",
    ],
    "training.distill": ["DistillConfig", "run_distill", "policy_table"],
    "swarm.policies.split": ["SplitPolicy", "arm_of"],
    "swarm.experiments.swarm_vs_single": [
        "BenchConfig",
        "swarm_vs_single",
        "CONDITIONS",
        "VARIANTS",
    ],
    "swarm.experiments.sweep": ["run_sweep", "SweepConfig", "CompareSettings", "sweep_paired"],
    "swarm.streams": ["Streams", "STREAMS"],
    "swarm.policies.chat": ["ChatPolicy", "ChatSettings", "ReplayMiss", "safe_action"],
    "swarm.experiments.transcripts": ["TranscriptRecorder"],
    "swarm.analysis.paired": ["paired_table", "holm", "PAIRED_COLUMNS", "seeds_for_power"],
    "swarm.analysis.plots": ["paired_heatmap", "sweep_figure"],
    "swarm.experiments.runs": ["run_config", "write_run"],
    "swarm.apps.html_report": ["write_report"],
    "training.stats": [
        "two_proportion_ztest",
        "mcnemar_exact",
        "bootstrap_ci",
        "welch_ttest",
        "mann_whitney",
        "sample_size_two_proportions",
        "wilson_ci",
        "proportion_diff_ci",
        "paired_proportion_diff_ci",
        "non_inferior",
    ],
    "training.eval.dataset": ["build_dataset", "load_dataset"],
    "training.eval.report": ["evaluate"],
    "training.eval.ab": ["ab_test"],
    "training.eval.episodes": ["ArmMeter", "ArmStats", "run_episode"],
    "training.data.pipeline": ["curate"],
    "training.base_model": ["build_base"],
    "soul": [
        "Soul",
        "SoulStore",
        "TaskCompleted",
        "TaskFailed",
        "HelpedAgent",
        "LearnedPattern",
        "DayEnded",
        "Rules",
        "Level",
        "apply_event",
        "atomic_write_text",
    ],
}


@pytest.mark.parametrize("module", sorted(DOCUMENTED))
def test_documented_names_import(module):
    mod = importlib.import_module(module)
    missing = [name for name in DOCUMENTED[module] if not hasattr(mod, name)]
    assert not missing, f"{module} lacks {missing}"


@pytest.mark.parametrize(
    "old, new",
    [
        ("swarm.traces", "swarm.world.traces"),
        ("swarm.text", "swarm.interface.text"),
        ("swarm.voting", "swarm.world.voting"),
        ("swarm.constitution", "swarm.interface.constitution"),
        ("swarm.emergence", "swarm.analysis.emergence"),
        ("swarm.emergence", "swarm.analysis.emergence_report"),
        ("swarm.sweep", "swarm.experiments.sweep"),
        ("swarm.plots", "swarm.analysis.plots"),
        ("swarm.agreement", "swarm.experiments.agreement"),
    ],
)
def test_old_paths_give_the_new_homes_objects(old, new):
    a, b = importlib.import_module(old), importlib.import_module(new)
    public = [n for n in getattr(b, "__all__", dir(b)) if not n.startswith("_")]
    for name in public:
        if callable(getattr(b, name)) and getattr(getattr(b, name), "__module__", "") == new:
            assert getattr(a, name) is getattr(b, name), name


def test_import_swarm_loads_neither_torch_nor_training():
    code = (
        "import sys, swarm, swarm.policies, swarm.experiments.sweep; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', "
        "'training')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_swarm_cli_gets_training_commands_from_entry_points():
    from typer.main import get_command

    from swarm.cli import app

    names = set(get_command(app).commands)
    assert {"data", "train", "eval", "ab", "demo"} <= names
    assert {"run", "sweep", "bench", "soul", "plot", "report", "dashboard"} <= names
