"""Live monitoring: order and review events in, alerts out (pure state, no I/O).

:class:`Monitor` keeps per-shop baselines and the known rings of a previous run and
turns batches of typed events into :class:`Alert` records. Reading files, stdin or
directories as they grow is :mod:`graphfraud.ingest.follow`'s job.
"""

from .alerts import ALERT_TYPES, Alert
from .known import KnownRings
from .monitor import Monitor, MonitorConfig, MonitorStats

__all__ = ["ALERT_TYPES", "Alert", "KnownRings", "Monitor", "MonitorConfig", "MonitorStats"]
