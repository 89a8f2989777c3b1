import pytest

from soul import Soul, SoulStore, TaskCompleted


def test_soul_show_prints_a_table(tmp_path, cli):
    store = SoulStore(tmp_path)
    soul = Soul(id="ada", name="Ada")
    soul.apply(TaskCompleted(domain="philosophy", task_type="synthesis", difficulty=1, quality=0.9))
    store.save(soul)
    code, out, _ = cli("soul", "show", "ada", "--store", str(tmp_path))
    assert code in (0, None)
    for text in ("Capable", "150", "350 XP to go", "First Steps", "philosophy"):
        assert text in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["soul", "show", "ghost"], "no soul 'ghost'"),
        (["soul", "show", "../x"], "invalid soul id '../x'"),
        (["soul", "show", "bad"], "bad.json: not valid JSON"),
    ],
)
def test_soul_show_user_errors_are_one_line_exit_2(tmp_path, cli, args, message):
    (tmp_path / "bad.json").write_text("{")
    code, _, err = cli(*args, "--store", str(tmp_path))
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_store_directory(tmp_path, cli):
    code, _, err = cli("soul", "show", "a", "--store", str(tmp_path / "nope"))
    assert code == 2 and "no such directory" in err
