import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm import SwarmModel
from swarm import constitution as C
from swarm.actions import DIRECTION_NAMES, Action, ActionKind
from swarm.text import (
    ActionParseError,
    parse_action,
    render_action,
    render_observation,
)

_OBS = []


def observations():
    if not _OBS:
        m = SwarmModel(n_agents=30, width=15, height=15, rng=11)
        for _ in range(60):
            m.step()
            _OBS.extend(o for o in m.observe() if o.tasks or o.task)
    return _OBS


ids = st.integers(0, 10**6)
actions = st.one_of(
    st.sampled_from(DIRECTION_NAMES).map(lambda d: Action(ActionKind.MOVE, direction=d)),
    st.sampled_from([Action(ActionKind.EXPLORE), Action(ActionKind.WAIT)]),
    st.tuples(
        st.sampled_from(
            [
                ActionKind.APPROACH,
                ActionKind.CLAIM,
                ActionKind.JOIN,
                ActionKind.WORK,
                ActionKind.RELEASE,
                ActionKind.HELP,
            ]
        ),
        ids,
    ).map(lambda kt: Action(kt[0], task=kt[1])),
    st.tuples(ids, ids).map(lambda ta: Action(ActionKind.HANDOFF, task=ta[0], agent=ta[1])),
)


@given(actions)
def test_render_parse_round_trips_every_action(action):
    assert parse_action(render_action(action)) == action


@settings(max_examples=100)
@given(st.data())
def test_round_trip_for_every_legal_candidate_of_real_observations(data):
    obs = data.draw(st.sampled_from(observations()))
    for c in obs.candidates:
        assert parse_action(render_action(c), obs) == c
    messages = render_observation(obs)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == C.constitution_text()
    options = messages[1]["content"].splitlines()[-1]
    for c in obs.candidates:
        assert render_action(c) in options or (
            c.kind is ActionKind.MOVE and ("move any" in options or "other moves" in options)
        )


@pytest.mark.parametrize("text", ["", "fly north", "claim task x", "task done", "move up"])
def test_unparseable_answers_raise_with_the_text(text):
    with pytest.raises(ActionParseError) as err:
        parse_action(text)
    assert err.value.text == text


def test_illegal_action_is_refused_in_context():
    obs = observations()[0]
    with pytest.raises(ActionParseError, match="not a legal action"):
        parse_action("claim task 999999", obs)


def test_lenient_about_case_space_and_trailing_lines():
    assert parse_action("  Move  NORTH.\nbecause...") == Action(ActionKind.MOVE, direction="north")


def test_constitution_rules_have_checks_and_the_expert_complies():
    rules = C.rules()
    assert [r.number for r in rules] == list(range(1, 8))
    m = SwarmModel(n_agents=30, width=20, height=20, rng=5)
    verdicts = []
    for _ in range(100):
        obs = m.observe()
        for o, d in zip(obs, m.policy.decide(obs), strict=True):
            verdicts += list(C.check(o, d.action).values())
        m.step()
    assert len(verdicts) > 100
    assert sum(verdicts) / len(verdicts) > 0.95


def test_the_user_prompt_is_compact_and_lists_every_candidate():
    """Every candidate is listed once (all eight moves as ``move any direction``); an
    open task out of reach is offered as ``approach task N``; each neighbour's line
    holds its traces in hundredths."""
    from swarm.actions import MOVES
    from swarm.text import render_user

    approaches = 0
    for obs in observations()[:300]:
        text = render_user(obs)
        actions = text.splitlines()[-1].removeprefix("Actions: ").split(" | ")
        if all(m in obs.candidates for m in MOVES):
            assert actions[0] == "move any direction"
            listed = [*MOVES, *(parse_action(a) for a in actions[1:])]
        else:
            listed = [parse_action(a) for a in actions]
        assert sorted(listed) == sorted(obs.candidates)
        offered = {a.task for a in listed if a.kind is ActionKind.APPROACH}
        if obs.task is None:
            assert offered == {t.id for t in obs.tasks if t.open_to_take and t.distance > 1}
        approaches += len(offered)
        rows = {line.split(":")[0]: line for line in text.splitlines()}
        for k, place in enumerate((*DIRECTION_NAMES, "here")):
            values = rows[place].removeprefix(f"{place}: ").split()
            assert values == [str(round(float(v) * 100)) for v in obs.traces[:, k]]
    assert approaches > 20
