"""``swarm serve`` on loopback, driven by the openai: chat policy (issue 20's done test)."""

from contextlib import contextmanager

import pandas as pd
import pytest

pytest.importorskip("openai")
pytest.importorskip("fastapi")

from swarm import SwarmModel, rollout  # noqa: E402
from swarm.apps.serve import make_app, running  # noqa: E402
from swarm.policies.chat import ChatPolicy, ChatSettings  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@contextmanager
def served(path, **kw):
    app = make_app(path, device="cpu", **kw)
    with running(app) as url:
        yield url, app


SMALL = {"n_agents": 4, "width": 10, "height": 10, "agent_report_every": 0}


@pytest.fixture(scope="module")
def base(tiny_base):
    return tiny_base[0]


def test_a_seeded_swarm_runs_against_swarm_serve_then_replays_from_the_cache(
    base, tmp_path, monkeypatch
):
    monkeypatch.setenv("SWARM_CHAT_CACHE", str(tmp_path / "cache"))
    with served(base) as (url, app):
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        first = rollout(SwarmModel(SMALL, policy="openai:tiny", rng=5), 8)
        policy = first.policy
        assert policy.stats["fallbacks"] == 0  # guided_choice: always a legal answer
        assert policy.stats["prompt_tokens"] > 0 and policy.stats["requests"] > 0
        batcher = app.state.batcher
        assert batcher.rows == policy.stats["requests"]
        assert batcher.batches < batcher.rows  # concurrent requests shared forward passes
        policy.close()
    monkeypatch.setenv("SWARM_CHAT_REPLAY_ONLY", "1")  # the server is gone: cache only
    again = rollout(SwarmModel(SMALL, policy="openai:tiny", rng=5), 8)
    assert again.policy.stats["requests"] == 0
    pd.testing.assert_frame_equal(
        first.datacollector.get_model_vars_dataframe(),
        again.datacollector.get_model_vars_dataframe(),
    )


def test_serve_answers_like_lm_policy_and_checks_its_input(base):
    import openai

    from swarm.interface.text import render_action, render_observation
    from swarm.policies import make_policy

    model = SwarmModel(SMALL, rng=2)
    for _ in range(5):
        model.step()
    obs = model.observe()
    local = make_policy(f"lm:{base}").decide(obs)
    with served(base, api_key="k") as (url, _):
        client = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
        assert [m.id for m in client.models.list().data] == [base.name]
        for o, d in zip(obs, local, strict=True):
            choices = [render_action(c) for c in o.candidates]
            r = client.chat.completions.create(
                model="tiny",
                messages=render_observation(o),
                extra_body={"guided_choice": choices},
                logprobs=True,
                top_logprobs=2,
            )
            assert r.choices[0].message.content == render_action(d.action)
            assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
            assert len(r.choices[0].logprobs.content[0].top_logprobs) == min(2, len(choices))
        with pytest.raises(openai.BadRequestError):  # not the constitution
            client.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": "hi"}]
            )
        wrong = openai.OpenAI(base_url=url, api_key="nope", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        free = client.chat.completions.create(
            model="tiny", messages=render_observation(obs[0]), max_tokens=4
        )
        assert isinstance(free.choices[0].message.content, str)


def test_serve_cli_refuses_a_bad_path_in_one_line(cli, tmp_path):
    code, _, err = cli("serve", str(tmp_path / "nothing"))
    assert code == 2 and err.strip().count("\n") == 0


def test_choice_logprobs_from_swarm_serve_fill_decision_probs(base):
    model = SwarmModel(SMALL, rng=2)
    obs = model.observe()
    with served(base) as (url, _):
        policy = ChatPolicy(ChatSettings(model="tiny", base_url=url, logprobs=True))
        decisions = policy.decide(obs)
        policy.close()
    for o, d in zip(obs, decisions, strict=True):
        assert d.probs is not None and len(d.probs) == len(o.candidates)
        assert abs(sum(d.probs) - 1) < 1e-9
        assert o.candidates[max(range(len(d.probs)), key=d.probs.__getitem__)] == d.action
