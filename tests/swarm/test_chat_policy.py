"""The chat policy (openai:MODEL) against a loopback OpenAI-compatible server."""

import pandas as pd
import pytest

pytest.importorskip("openai")
pytest.importorskip("fastapi")

from swarm import SwarmModel, rollout  # noqa: E402
from swarm.policies import check_policy, make_policy  # noqa: E402
from swarm.policies.chat import ChatPolicy, ChatSettings, ReplayMiss, safe_action  # noqa: E402
from tests.swarm.chat_server import chat_server  # noqa: E402

pytestmark = pytest.mark.timeout(120)

SMALL = {"n_agents": 4, "width": 10, "height": 10, "agent_report_every": 0}


def run(policy, steps=12, seed=3):
    model = SwarmModel(SMALL, policy=policy, rng=seed)
    rollout(model, steps)
    return model


def settings(url, **kw):
    return ChatSettings(model="test-model", base_url=url, **kw)


def test_a_seeded_swarm_replays_from_the_cache_identically(tmp_path):
    with chat_server("first") as (url, state):
        first = ChatPolicy(settings(url, cache_dir=str(tmp_path / "cache")))
        a = run(first)
        sent = state["requests"]
        # a request already answered (same content) is served from the cache
        assert sent + first.stats["cache_hits"] == 4 * 12 and first.stats["fallbacks"] == 0
        assert first.stats["prompt_tokens"] > 0
    # the server is gone: the rerun is served from the cache alone
    again = ChatPolicy(settings(url, cache_dir=str(tmp_path / "cache"), replay_only=True))
    b = run(again)
    assert again.stats["cache_hits"] == 4 * 12 and again.stats["requests"] == 0
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(), b.datacollector.get_model_vars_dataframe()
    )
    first.close()


def test_replay_only_without_the_response_is_one_clear_error(tmp_path):
    dead = "http://127.0.0.1:9/v1"
    policy = ChatPolicy(settings(dead, cache_dir=str(tmp_path), replay_only=True))
    with pytest.raises(ReplayMiss, match="no cached response"):
        run(policy, steps=1)


def test_usage_and_cost_reach_the_decisions():
    with chat_server("first") as (url, _):
        price = {"input_per_mtok": 1.0, "output_per_mtok": 4.0}
        policy = ChatPolicy(settings(url, price=price))
        model = SwarmModel(SMALL, policy=policy, rng=0)
        obs = model.observe()
        decisions = policy.decide(obs)
        info = decisions[0].info
        assert info["prompt_tokens"] > 0 and info["completion_tokens"] > 0
        want = (info["prompt_tokens"] * 1.0 + info["completion_tokens"] * 4.0) / 1e6
        assert info["cost_usd"] == pytest.approx(want)
        assert all(d.action in o.candidates for d, o in zip(decisions, obs, strict=True))
        policy.close()


@pytest.mark.parametrize(
    "mode, counted",
    [("illegal", "illegal_answers"), ("garbage", "server_errors"), ("error", "server_errors")],
)
def test_a_hostile_server_cannot_crash_a_run(mode, counted):
    with chat_server(mode) as (url, _):
        policy = ChatPolicy(settings(url, max_retries=1, timeout_s=5))
        model = run(policy, steps=3)
        assert model.counts.illegal_actions == 0  # every fallback is legal
        assert policy.stats[counted] == policy.stats["fallbacks"] == 4 * 3
        assert policy.error_rate == 1.0
        policy.close()


def test_429_storms_are_retried_and_slow_answers_time_out():
    with chat_server("storm", storm=3) as (url, state):
        policy = ChatPolicy(settings(url, max_retries=5, max_concurrency=1))
        run(policy, steps=1)
        assert policy.stats["fallbacks"] == 0 and state["requests"] == 4 + 3
        policy.close()
    with chat_server("slow", delay=3.0) as (url, _):
        policy = ChatPolicy(settings(url, timeout_s=0.3, max_retries=0))
        run(policy, steps=1)
        assert policy.stats["timeouts"] == policy.stats["fallbacks"] == 4
        policy.close()


def test_a_dead_server_is_one_line_before_the_run(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match="cannot reach the chat server at http://127.0.0.1:9"):
        check_policy("openai:test-model")
    with pytest.raises(ValueError, match="cannot reach"):
        SwarmModel(SMALL, policy="openai:test-model", rng=0)


def test_openai_specs_read_the_clients_environment(monkeypatch, tmp_path):
    with chat_server("first") as (url, _):
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        monkeypatch.setenv("SWARM_CHAT_CACHE", str(tmp_path))
        check_policy("openai:test-model")
        policy = make_policy("openai:test-model")
        assert policy.name == "openai:test-model" and policy.settings.cache_dir == str(tmp_path)
        run("openai:test-model", steps=2)
        assert any(tmp_path.rglob("*.json"))


def test_safe_action_is_always_a_candidate():
    model = SwarmModel(SMALL, rng=1)
    for _ in range(20):
        for obs in model.observe():
            assert safe_action(obs) in obs.candidates
        model.step()


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="temprature"):
        ChatSettings(model="m", temprature=0.5)


def test_a_policy_block_in_a_run_config(cli, tmp_path):
    import yaml

    with chat_server("first") as (url, state):
        block = {"openai": {"model": "test-model", "base_url": url, "max_concurrency": 2}}
        config = tmp_path / "run.yaml"
        config.write_text(
            yaml.safe_dump({"seed": 1, "steps": 3, "model": {**SMALL, "policy": block}})
        )
        code, _, err = cli("run", "--config", str(config), "--out", str(tmp_path / "out"))
        assert code in (0, None), err
        assert state["requests"] > 0
    bad = {"openai": {"model": "m", "temprature": 1}}
    config.write_text(yaml.safe_dump({"seed": 1, "steps": 3, "model": {"policy": bad}}))
    code, _, err = cli("run", "--config", str(config), "--out", str(tmp_path / "out2"))
    assert code == 2 and "temprature" in err and err.strip().count("\n") == 0


def test_a_chat_run_recorded_as_transcripts_is_curated_with_its_outcomes(tmp_path):
    import json

    from swarm.experiments.transcripts import TranscriptRecorder
    from tests.training.data.test_curation import _cfg
    from training.data.pipeline import curate

    with chat_server("greedy") as (url, _):
        policy = ChatPolicy(settings(url))
        recorder = TranscriptRecorder(tmp_path / "transcripts.jsonl")
        model = rollout(SwarmModel(SMALL, policy=policy, rng=3), 60, [recorder])
        path = recorder.write()
        policy.close()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 4 * 60
    assert [m["role"] for m in rows[0]["messages"]] == ["system", "user", "assistant"]
    ended = [r for r in rows if "success" in r]
    assert ended and model.counts.completed + model.counts.failed > 0
    assert all(r["success_score"] == 0.0 for r in ended if not r["success"])
    out = tmp_path / "data"
    stats = curate(_cfg([{"kind": "transcripts", "path": str(path)}]), out)
    s = next(iter(stats["sources"].values()))
    assert s["records_read"] == len(rows)
    # every decision with an outcome good enough for the filter is kept
    good = [r for r in ended if r["success_score"] >= 0.5]
    assert good and s["records_kept"] >= len(good)


def test_a_server_that_drops_connections_cannot_crash_a_run():
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def drop_everything():  # accept, read a little, hang up without answering
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.recv(1024)
            conn.close()

    thread = threading.Thread(target=drop_everything, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        policy = ChatPolicy(settings(url, max_retries=1, timeout_s=5))
        model = SwarmModel(SMALL, rng=0)  # bound to no policy: no /models check
        decisions = policy.decide(model.observe())
        assert policy.stats["server_errors"] == policy.stats["fallbacks"] == len(decisions)
        assert all(d.info["fallback"] for d in decisions)  # each says why
        policy.close()
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_an_evaluation_prices_a_chat_policy_by_its_own_price():
    from training.eval.config import EvalConfig

    policy = ChatPolicy(
        settings("http://127.0.0.1:9/v1", price={"input_per_mtok": 2.0, "output_per_mtok": 8.0})
    )
    price = EvalConfig().price_of(policy)
    assert (price.per_million_input, price.per_million_output, price.device_per_hour) == (
        2.0,
        8.0,
        0.0,
    )
    cfg = EvalConfig.model_validate({"pricing": {"openai": {"per_million_input": 1.0}}})
    assert cfg.price_of("openai:any-model").per_million_input == 1.0
