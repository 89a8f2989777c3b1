"""Experiments: the step loop (:mod:`.rollout`), a config's run (:mod:`.runs`), parameter
sweeps (:mod:`.sweep`), the swarm-vs-single-agent benchmark (:mod:`.swarm_vs_single`),
policies side by side (:mod:`.policy_comparison`) and agreement with the expert
(:mod:`.agreement`)."""
