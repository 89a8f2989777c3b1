import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm import SwarmModel
from swarm import constitution as C
from swarm.interface.text import (
    ActionParseError,
    parse_action,
    render_action,
    render_observation,
)
from swarm.world.actions import DIRECTION_NAMES, Action, ActionKind

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
    options = " ".join(messages[1]["content"].splitlines()[-2:])  # Leave to ..., Actions
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
    open task out of reach is offered as ``approach task N``; each channel with a trace
    in view has a line of nine levels in hundredths."""
    from swarm.interface.text import render_user
    from swarm.world.actions import MOVES

    approaches = shown = 0
    for obs in observations()[:300]:
        text = render_user(obs)
        actions = text.splitlines()[-1].removeprefix("Actions: ").split(" | ")
        if all(m in obs.candidates for m in MOVES):
            assert actions[0] == "move any direction"
            listed = [*MOVES, *(parse_action(a) for a in actions[1:])]
        else:
            listed = [parse_action(a) for a in actions]
        leave = text.splitlines()[-2]
        if leave.startswith("Leave to nearer agents: "):
            listed += [parse_action(a) for a in leave.split(": ", 1)[1].split(" | ")]
        assert sorted(listed) == sorted(obs.candidates)
        offered = {a.task for a in listed if a.kind is ActionKind.APPROACH}
        if obs.task is None:
            assert offered == {t.id for t in obs.tasks if t.open_to_take and t.distance > 1}
        approaches += len(offered)
        _check_trace_lines(text, obs)
        shown += sum(line.startswith(obs.channels) for line in text.splitlines())
    assert approaches > 20
    assert 300 < shown < 300 * len(obs.channels)  # some channels shown, some left out


def _check_trace_lines(text: str, obs) -> None:
    """One line per channel with a trace in view, nine values in the header's order
    (hundredths; ``-`` off the grid); the other channels are left out."""
    lines = text.splitlines()
    rows = {line.split(":")[0]: line for line in lines}
    if not any(name in rows for name in obs.channels):
        assert "Traces: none." in lines
    else:
        assert f"Traces x100 ({' '.join((*DIRECTION_NAMES, 'here'))}):" in lines
    for name in obs.channels:
        expect = ["-" if np.isnan(v) else str(round(float(v) * 100)) for v in obs.trace(name)]
        if name in rows:
            assert rows[name].removeprefix(f"{name}: ").split() == expect
        else:
            assert set(expect) <= {"0", "-"}


def test_trace_lines_mark_cells_off_a_bounded_grid():
    from swarm.interface.text import render_user

    m = SwarmModel(n_agents=40, width=8, height=8, torus=False, rng=3)
    edge = 0
    for _ in range(10):
        m.step()
        for obs in m.observe():
            text = render_user(obs)
            _check_trace_lines(text, obs)
            edge += any(" - " in line or line.endswith(" -") for line in text.splitlines())
    assert edge > 0


def test_takes_nearer_agents_have_first_are_listed_apart():
    """A claim or join is listed on the ``Leave to nearer agents`` line, not among the
    Actions, exactly when nearer idle agents fill the task's places; the expert never
    takes such a task."""
    from swarm.interface.text import render_user
    from swarm.policies.heuristic import HeuristicPolicy

    apart = 0
    obs_list = observations()[:400]
    for obs, d in zip(obs_list, HeuristicPolicy().decide(obs_list), strict=True):
        lines = render_user(obs).splitlines()
        leave = lines[-2].removeprefix("Leave to nearer agents: ")
        deferred = [parse_action(a) for a in leave.split(" | ")] if leave != lines[-2] else []
        views = {t.id: t for t in obs.tasks}
        for c in obs.candidates:
            if c.kind in (ActionKind.CLAIM, ActionKind.JOIN):
                t = views[c.task]
                behind = obs.place_in_line(t) > t.places
                assert (c in deferred) == behind
                assert (render_action(c) in lines[-1].split(": ", 1)[1].split(" | ")) != behind
        assert d.action not in deferred
        apart += len(deferred)
    assert apart > 5


def test_the_trace_lead_is_the_move_the_expert_follows_traces_with():
    """Rule 6's move is the trace lead the prompt names, and where rule 6 explores there
    is none: the prompt states what the expert reads off the traces."""
    from swarm.policies import HeuristicPolicy
    from swarm.world.actions import EXPLORE

    model = SwarmModel(n_agents=30, width=15, height=15, rng=5)
    expert = HeuristicPolicy()
    moves = explores = 0
    for _ in range(60):
        model.step()
        obs = model.observe()
        for o, d in zip(obs, expert.decide(list(obs)), strict=True):
            lines = render_observation(o)[1]["content"].splitlines()
            lead = o.trace_lead()
            shown = [line for line in lines if line.startswith("Trace lead:")]
            assert shown == ([] if lead is None else [f"Trace lead: {lead.direction}."])
            if d.action.kind is ActionKind.MOVE:
                assert d.action == lead
                moves += 1
            elif d.action == EXPLORE:
                assert lead is None
                explores += 1
    assert moves > 10 and explores > 100


@pytest.mark.parametrize("torus", [True, False])
def test_the_compiled_rule_6_makes_the_trace_lead_move_on_any_grid(torus):
    """The expert as runs use it (plain agents decided by the compiled kernel) moves to
    the trace lead, at a bounded grid's edge too (off-grid neighbours never lead)."""
    from swarm.policies import HeuristicPolicy

    model = SwarmModel(n_agents=30, width=12, height=12, torus=torus, rng=8)
    expert = HeuristicPolicy()
    moves = 0
    for _ in range(50):
        model.step()
        obs = model.observe()
        for i, d in enumerate(expert.decide(obs)):
            if d.action.kind is ActionKind.MOVE:
                assert d.action == obs[i].trace_lead()
                moves += 1
    assert moves > 10


def test_rule_6_passes_the_move_to_the_trace_lead():
    """The constitution says: with nothing else to do, go to the trace lead; its check
    agrees, at a bounded grid's edge too."""
    m = SwarmModel(n_agents=20, width=20, height=20, torus=False, rng=2)
    leads = edge = 0
    for _ in range(60):
        m.step()
        for o in m.observe():
            lead = o.trace_lead()
            if lead is not None and o.task is None and not o.tasks:
                assert C.check(o, lead)[6] is True
                leads += 1
                edge += o.x in (0, m.width - 1) or o.y in (0, m.height - 1)
    assert leads > 5 and edge > 0


def test_each_task_line_gives_the_agents_skill_in_what_it_needs():
    import re

    seen = 0
    for obs in observations()[:300]:
        text = render_observation(obs)[1]["content"]
        for t in obs.tasks:
            line = next(x for x in text.splitlines() if f"task {t.id}: " in x)
            m = re.search(r"\(your skill ([\d.]+)\)", line)
            skill = obs.skill_for(t)
            if skill is None:
                assert m is None and t.task_type.group and not t.open_slots
            else:
                assert float(m[1]) == pytest.approx(skill, abs=0.005)
                seen += 1
    assert seen > 100
