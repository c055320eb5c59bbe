"""Synthetic marketplace with planted collusion rings and benign look-alikes."""

from .marketplace import BENIGN_KINDS, RING_KINDS, SynthConfig, SynthResult, synthesize

__all__ = ["BENIGN_KINDS", "RING_KINDS", "SynthConfig", "SynthResult", "synthesize"]
