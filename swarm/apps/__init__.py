"""Applications: the live Solara dashboard (:mod:`.dashboard`, needs the
``dashboard`` extra) and the self-contained HTML report of a run or sweep
(:mod:`.html_report`)."""
