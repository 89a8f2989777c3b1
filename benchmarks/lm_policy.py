"""Language-model policy throughput: batched choice scoring vs a sequential per-agent
baseline, on the same model and the same observations.

* batched (ours): :class:`swarm.policies.lm.LMPolicy` in choice mode: the system prompt's
  keys/values computed once and shared, every agent of a step in batched passes, each
  row an observation followed by its candidates as a prefix tree (no generation);
* sequential (the HTTP-per-agent pattern): one agent at a time, the full prompt (system
  prompt included) from scratch, the answer generated greedily and parsed (an
  unparseable answer falls back to ``wait`` and counts as an error).

Each arm is timed ``--repeats`` times (3; 1 with ``--quick``), the arms interleaved, and
the fastest run of each is kept (``speedup_per_repeat`` shows the spread on a noisy
machine). Observations come from an expert swarm (20 agents) over ``--steps`` steps.
Agreement is the share of observations on which both pick the same action. Model: ``--model PATH``
(a fine-tuned model or adapter directory); by default the demo's fine-tuned model when
it exists, else a random ``tiny`` Llama with our tokenizer (throughput does not depend
on the weights; agreement then means little, and ``trained`` says so).

    python -m benchmarks.lm_policy [--quick] [--json] [--model PATH] [--device auto]
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks._common import emit, parser, positive

DEMO_MODELS = (Path("runs/demo/finetune/model"), Path("runs/demo/finetune/adapter"))


def observations(steps: int, seed: int, n_agents: int = 20):
    from swarm import SwarmModel, rollout

    batches = []
    model = SwarmModel(n_agents=n_agents, rng=seed)
    rollout(model, steps, [lambda m, record: batches.append(record.observations)])
    return batches


def random_model(where: Path, batches) -> Path:
    """A random-init tiny Llama and a tokenizer trained on these observations' text."""
    from swarm.interface.constitution import constitution_text
    from swarm.interface.text import render_user
    from training.base_model import build_model
    from training.tokenizer import action_vocabulary, train_tokenizer

    texts = [constitution_text(), "\n".join(action_vocabulary())]
    texts += [render_user(o) for obs in batches for o in obs]
    tok = train_tokenizer(texts, 4096)
    model = build_model("tiny", tok)
    model.save_pretrained(str(where))
    tok.save_pretrained(str(where))
    return where


def model_path(given: Path | None, batches, tmp: Path) -> tuple[Path, bool]:
    """The model to benchmark and whether it is trained: ``given``, else the demo's
    fine-tuned model, else a random-init tiny Llama built in ``tmp``."""
    path = given or next((p for p in DEMO_MODELS if p.exists()), None)
    if path is not None:
        return path, True
    return random_model(tmp / "model", batches), False


def sequential(policy, batches):
    """One agent at a time: the whole prompt, greedy generation, parse."""
    import torch

    from swarm.interface.text import ActionParseError, parse_action
    from swarm.policies.lm import prompt_ids
    from swarm.world.actions import WAIT

    lm = policy.lm
    actions, tokens, errors = [], 0, 0
    for obs_list in batches:
        for obs in obs_list:
            ids = lm.prefix_ids + prompt_ids(lm, obs)
            x = torch.tensor([ids], device=lm.device)
            with torch.no_grad():
                gen = lm.model.generate(
                    x,
                    max_new_tokens=12,
                    do_sample=False,
                    eos_token_id=lm.eot_id,
                    pad_token_id=lm.tokenizer.pad_token_id,
                )
            new = gen[0, len(ids) :].tolist()
            tokens += len(ids) + len(new)
            try:
                actions.append(
                    parse_action(lm.tokenizer.decode(new, skip_special_tokens=True), obs)
                )
            except ActionParseError:
                errors += 1
                actions.append(WAIT if WAIT in obs.candidates else obs.candidates[0])
    return actions, tokens, errors


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--steps", type=positive, default=None, help="swarm steps to take decisions for")
    p.add_argument("--batch-size", type=positive, default=None, help="default: 8 on CPU, 64 on GPU")
    p.add_argument(
        "--repeats", type=positive, default=None, help="timed runs of each arm (best kept)"
    )
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch
    from transformers.utils import logging

    from swarm.policies.lm import LMPolicy
    from training.runtime import device_name

    logging.set_verbosity_error()
    torch.manual_seed(args.seed)
    steps = args.steps or (3 if args.quick else 10)
    repeats = args.repeats or (1 if args.quick else 3)
    batches = observations(steps, args.seed)
    n = sum(len(b) for b in batches)
    with tempfile.TemporaryDirectory() as tmp:
        path, trained = model_path(args.model, batches, Path(tmp))
        try:
            policy = LMPolicy.from_pretrained(path, device=args.device, batch_size=args.batch_size)
        except (OSError, ValueError) as exc:
            p.error(f"--model: {exc}")
        sync = torch.cuda.synchronize if policy.lm.device.startswith("cuda") else (lambda: None)

        policy.decide(batches[0][:2])  # warm up
        walls_batched, walls_seq = [], []
        for _ in range(repeats):  # interleaved, so a noisy spell hits both arms alike
            policy.stats.update(dict.fromkeys(policy.stats, 0))
            sync()
            t = time.perf_counter()
            ours = [d.action for obs in batches for d in policy.decide(obs)]
            sync()
            walls_batched.append(time.perf_counter() - t)

            t = time.perf_counter()
            theirs, seq_tokens, errors = sequential(policy, batches)
            sync()
            walls_seq.append(time.perf_counter() - t)
        wall_batched, wall_seq = min(walls_batched), min(walls_seq)

    agree = sum(a == b for a, b in zip(ours, theirs, strict=True)) / n
    batched_tokens = policy.stats["prompt_tokens"] + policy.stats["candidate_tokens"]
    emit(
        {
            "decisions_per_s_batched": round(n / wall_batched, 2),
            "decisions_per_s_sequential": round(n / wall_seq, 2),
            "speedup": round(wall_seq / wall_batched, 2),
            "speedup_per_repeat": [
                round(s / b, 2) for s, b in zip(walls_seq, walls_batched, strict=True)
            ],
            "agreement": round(agree, 4),
            "tokens_per_decision": round(batched_tokens / n, 1),
            "tokens_per_decision_sequential": round(seq_tokens / n, 1),
            "sequential_parse_errors": errors,
            "decisions": n,
            "model": str(path) if trained else "random tiny (untrained)",
            "trained": trained,
            "parameters": sum(t.numel() for t in policy.lm.model.parameters()),
            "device": device_name(policy.lm.device),
            "repeats": repeats,
            "quick": args.quick,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
