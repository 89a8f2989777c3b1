"""Analysis of runs: emergence estimators on arrays (:mod:`.emergence`) and the emergence
report on a run's frames (:mod:`.emergence_report`), means with intervals
(:mod:`.summary`) and matplotlib figures (:mod:`.plots`). Reads frames and models; runs
nothing."""
