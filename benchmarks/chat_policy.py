"""Chat-policy throughput: ``openai:`` against ``swarm serve`` on loopback, all of a
step's requests concurrent vs one request at a time per agent (as an HTTP-per-agent
framework does), on the same model and the same observations.

Both arms send the same requests (the candidates as ``guided_choice``) to the same
server; the concurrent arm is :class:`swarm.policies.chat.ChatPolicy` (async, bounded
concurrency), the sequential arm waits for each answer before sending the next. The
server's own gain is how many requests shared each forward pass (``rows_per_batch``).
Model: ``--model PATH``, by default the demo's fine-tuned model when it exists, else a
random-init tiny Llama (``trained: false``).

    python -m benchmarks.chat_policy [--quick] [--json] [--model PATH]
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks._common import emit, parser, positive
from benchmarks.lm_policy import model_path, observations


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--steps", type=positive, default=None, help="swarm steps to decide for")
    p.add_argument(
        "--server-batch", type=positive, default=None, help="rows per forward pass (server)"
    )
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import openai

    from swarm.policies.chat import ChatPolicy, ChatSettings

    steps = args.steps or (2 if args.quick else 5)
    batches = observations(steps, args.seed)
    n = sum(len(b) for b in batches)
    with tempfile.TemporaryDirectory() as tmp:
        path, trained = model_path(args.model, batches, Path(tmp))
        from swarm.apps.serve import make_app, running

        app = make_app(path, device="cpu", batch_size=args.server_batch)
        with running(app, timeout_s=60) as url:
            policy = ChatPolicy(ChatSettings(model="m", base_url=url, max_concurrency=64))
            policy.decide(batches[0][:2])  # warm up
            batcher = app.state.batcher
            rows0, batches0 = batcher.rows, batcher.batches
            t = time.perf_counter()
            ours = [d.action for obs in batches for d in policy.decide(obs)]
            concurrent = time.perf_counter() - t
            rows_per_batch = (batcher.rows - rows0) / max(batcher.batches - batches0, 1)
            errors = policy.stats["fallbacks"]

            client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
            t = time.perf_counter()
            theirs = []
            for obs_list in batches:
                for obs in obs_list:
                    req = policy.request_of(obs)
                    r = client.chat.completions.create(**req)
                    theirs.append(r.choices[0].message.content)
            sequential = time.perf_counter() - t
            policy.close()
    from swarm.interface.text import render_action

    same = sum(render_action(a) == b for a, b in zip(ours, theirs, strict=True)) / n
    result = {
        "decisions_per_s_concurrent": round(n / concurrent, 1),
        "decisions_per_s_sequential": round(n / sequential, 1),
        "speedup": round(sequential / concurrent, 2),
        "error_rate": errors / n,
        "rows_per_batch": round(rows_per_batch, 2),
        "agreement": round(same, 3),
        "decisions": n,
        "trained": trained,
        "quick": args.quick,
    }
    if not args.json:
        rates = f"concurrent {n / concurrent:.1f}/s, one at a time {n / sequential:.1f}/s"
        print(f"{n} decisions: {rates}")
    emit(result, args.json)


if __name__ == "__main__":
    main()
