from swarm.experiments.policy_comparison import compare_policies


def test_comparing_policies_twice_gives_the_same_table(tmp_path):
    sizes = dict(policies=("heuristic", "random"), seeds=(0,), steps=150, n_agents=10)
    first = compare_policies(tmp_path, **sizes)
    assert (tmp_path / "souls").is_dir()  # the expert's souls were kept ...
    again = compare_policies(tmp_path, **sizes)  # ... and do not leak into the next call
    assert again.equals(first)
