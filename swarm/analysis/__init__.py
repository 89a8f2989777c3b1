"""Analysis of runs: emergence estimators on arrays (:mod:`.emergence`) and the emergence
report on a run's frames (:mod:`.emergence_report`), means with intervals
(:mod:`.summary`) and matplotlib figures (:mod:`.plots`). Reads frames and models; runs
nothing."""

from swarm.analysis.summary import mean_ci, summarise, summary_markdown

#: The name ``summary_markdown`` had before (``from swarm.analysis import to_markdown``).
to_markdown = summary_markdown

__all__ = ["mean_ci", "summarise", "summary_markdown", "to_markdown"]
