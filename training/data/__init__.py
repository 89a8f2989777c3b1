"""Training-data curation: extract → filter → dedup → format → split → augment → validate.

Entry point: :func:`training.data.pipeline.curate` (``swarm data curate CONFIG --out DIR``).
"""

from training.data.schema import Provenance, TrainingExample

__all__ = ["Provenance", "TrainingExample"]
