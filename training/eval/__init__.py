"""Evaluation of policies: a frozen scenario dataset with an oracle
(:mod:`training.eval.dataset`, :mod:`training.eval.oracle`), closed-loop episodes with
per-arm metering (:mod:`training.eval.episodes`), the evaluation report
(:mod:`training.eval.report`) and the A/B test with its Go/No-Go table
(:mod:`training.eval.ab`). Settings live in :mod:`training.eval.config`.
"""
