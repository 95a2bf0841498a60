"""MLflow registry: diagnostic models, snapshots as datasets, post-mortem runs, replay, drift.

MLflow's logging and nudges are silenced as soon as the package is imported: they would otherwise
print before the first registry call has a chance to (see `tracking.quiet`)."""

from registry.tracking import quiet

quiet()
