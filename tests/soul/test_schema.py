import json

import pytest
from hypothesis import given
from pydantic import ValidationError

from soul import Soul

from .strategies import event_streams

SPEC_META = {
    "metaLearning": {
        "preferredTaskTypes": ["coordination", "research"],
        "strengthDomains": ["philosophy", "technical"],
        "avoidPatterns": ["rushed decisions"],
        "learningRate": 0.8,
        "adaptabilityScore": 0.9,
    }
}


def test_spec_json_validates_as_it_stands_and_dumps_back_with_the_same_keys():
    soul = Soul.model_validate(SPEC_META)
    dumped = soul.model_dump(by_alias=True, mode="json")
    assert dumped["metaLearning"] == SPEC_META["metaLearning"]
    assert json.loads(soul.to_json())["metaLearning"] == SPEC_META["metaLearning"]


def _lived(events):
    soul = Soul(id="agent-1", name="Ada")
    for ev in events:
        soul.apply(ev)
    return soul


@given(event_streams())
def test_json_round_trips_by_alias_and_by_field_name(events):
    soul = _lived(events)
    assert Soul.model_validate_json(soul.to_json()) == soul
    assert Soul.model_validate(soul.model_dump(by_alias=False)) == soul
    assert Soul.model_validate(soul.model_dump(by_alias=True)) == soul
    assert "metaLearning" in soul.model_dump(by_alias=True)
    assert "meta_learning" in soul.model_dump(by_alias=False)


def test_level_is_derived_and_a_stale_level_is_refused():
    soul = Soul(id="s", xp=600)
    assert soul.level.value == "Proficient"
    assert json.loads(soul.to_json())["level"] == "Proficient"
    with pytest.raises(ValidationError, match="does not match xp 600"):
        Soul.model_validate({"id": "s", "xp": 600, "level": "Novice"})


def test_unknown_keys_and_negative_xp_are_refused():
    with pytest.raises(ValidationError, match="bogus"):
        Soul.model_validate({"id": "s", "bogus": 1})
    with pytest.raises(ValidationError, match="xp"):
        Soul(id="s", xp=-1)


@pytest.mark.parametrize(
    "bad", ["", "../x", "a/b", "a\\b", "..", ".hidden", "a" * 129, "sp ace", "x..y"]
)
def test_bad_ids_are_refused(bad):
    with pytest.raises(ValidationError, match="invalid soul id"):
        Soul(id=bad)
