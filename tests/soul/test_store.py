import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soul import Soul, SoulFileError, SoulStore, TaskCompleted

from .strategies import event_streams

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,40}", fullmatch=True)


@settings(max_examples=25)
@given(ids, event_streams(max_days=5))
def test_store_round_trips(tmp_path_factory, soul_id, events):
    store = SoulStore(tmp_path_factory.mktemp("souls"))
    soul = Soul(id=soul_id)
    for ev in events:
        soul.apply(ev)
    store.save(soul)
    assert store.load(soul_id) == soul
    assert store.ids() == [soul_id]
    assert soul_id in store
    store.delete(soul_id)
    assert store.ids() == []


@pytest.mark.parametrize("bad", ["../evil", "a/b", "..", "/abs", "x" * 200, ""])
def test_store_refuses_bad_ids_naming_them(tmp_path, bad):
    store = SoulStore(tmp_path)
    for call in (store.load, store.delete, store.path_for):
        with pytest.raises(ValueError, match="invalid soul id") as err:
            call(bad)
        assert repr(bad) in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_missing_soul_is_a_key_error(tmp_path):
    store = SoulStore(tmp_path)
    with pytest.raises(KeyError, match="no soul 'ghost'"):
        store.load("ghost")
    assert store.load_or_create("ghost", name="G") == Soul(id="ghost", name="G")


def test_crash_mid_write_leaves_the_old_file_readable(tmp_path, monkeypatch):
    store = SoulStore(tmp_path)
    old = Soul(id="a", xp=120)
    store.save(old)
    new = old.model_copy(deep=True)
    new.apply(TaskCompleted(domain="d", task_type="t", difficulty=1, quality=1))

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        store.save(new)
    monkeypatch.undo()
    assert store.load("a") == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no temp file left
    store.save(new)
    assert store.load("a") == new


def test_crash_while_writing_bytes_leaves_the_old_file(tmp_path, monkeypatch):
    store = SoulStore(tmp_path)
    store.save(Soul(id="a", xp=5))
    real_write_text = Path.write_text

    def torn(self, text, *args, **kwargs):
        real_write_text(self, text[: len(text) // 2], *args, **kwargs)
        raise KeyboardInterrupt  # killed half way

    monkeypatch.setattr(Path, "write_text", torn)
    with pytest.raises(KeyboardInterrupt):
        store.save(Soul(id="a", xp=999))
    monkeypatch.undo()
    assert store.load("a").xp == 5
    assert store.ids() == ["a"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"id": "a", "xp": -3}', "not a valid soul: xp"),
        (b'{"id": "b"}', "holds soul 'b', expected 'a'"),
    ],
)
def test_corrupt_file_is_named_and_never_overwritten(tmp_path, content, reason):
    store = SoulStore(tmp_path)
    path = tmp_path / "a.json"
    path.write_bytes(content)
    with pytest.raises(SoulFileError, match=reason) as err:
        store.load("a")
    assert str(path) in str(err.value)
    with pytest.raises(SoulFileError):
        store.save(Soul(id="a"))
    assert path.read_bytes() == content


def test_a_soul_claiming_achievements_its_record_does_not_bear_out_is_refused(tmp_path):
    store = SoulStore(tmp_path)
    claims = [{"name": n, "day": 0, "event": 0} for n in ("Mentor", "Polymath")]
    fake = {"id": "a", "xp": 0, "achievements": claims}
    (tmp_path / "a.json").write_text(json.dumps(fake))
    with pytest.raises(SoulFileError, match="'Mentor' is not borne out: distinct_agents_helped"):
        store.load("a")


def test_unreadable_store_entries_are_errors_naming_the_file(tmp_path):
    store = SoulStore(tmp_path)
    (tmp_path / "d.json").mkdir()
    (tmp_path / "n.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SoulFileError, match="d.json.*cannot be read"):
        store.load("d")
    with pytest.raises(SoulFileError, match="nested too deeply"):
        store.load("n")
    store.save(Soul(id="ok"))
    assert store.load("ok").id == "ok"


def test_atomic_writes_respect_the_umask(tmp_path):
    from soul.files import atomic_write_dir, atomic_write_text

    old = os.umask(0o022)
    try:
        f = atomic_write_text(tmp_path / "a.txt", "x")
        d = atomic_write_dir(tmp_path / "d", lambda p: (p / "b.txt").write_text("y"))
    finally:
        os.umask(old)
    assert f.stat().st_mode & 0o777 == 0o644
    assert d.stat().st_mode & 0o777 == 0o755


def test_a_directory_write_that_fails_half_way_leaves_the_old_directory(tmp_path):
    from soul.files import atomic_write_dir

    target = atomic_write_dir(tmp_path / "adapter", lambda p: (p / "w.bin").write_text("old"))

    def half(p):
        (p / "w.bin").write_text("new")
        raise KeyboardInterrupt  # killed before the second file

    with pytest.raises(KeyboardInterrupt):
        atomic_write_dir(target, half)
    assert [p.name for p in target.iterdir()] == ["w.bin"]
    assert (target / "w.bin").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]


def test_perfect_week_needs_seven_completed_tasks(tmp_path):
    (tmp_path / "w.json").write_text(
        json.dumps({"id": "w", "achievements": [{"name": "Perfect Week", "day": 0, "event": 0}]})
    )
    with pytest.raises(SoulFileError, match="'Perfect Week' is not borne out"):
        SoulStore(tmp_path).load("w")
