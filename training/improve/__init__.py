"""Intelligence amplification: a student that learns from the simulation's outcomes.

:mod:`training.improve.config` (the ``swarm improve`` YAML), :mod:`training.improve.dpo`
(the learning step: TRL's DPO on counterfactual preference pairs) and
:mod:`training.improve.rounds` (label, train, evaluate against the expert on paired
worlds, keep or drop).
"""
