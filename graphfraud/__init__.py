"""graphfraud: find collusion rings behind fake orders and fake reviews (刷单炒信).

The library API needs no CLI: :func:`load_dataset` reads and validates a data
directory, :class:`RingDetector` finds rings, :func:`synthesize` makes demo data,
:func:`evaluate` scores results against ground truth, and :mod:`graphfraud.pipeline`
runs whole jobs (files in, a typed :class:`RunResult` out).

Names are imported on first use (PEP 562), so ``import graphfraud`` — and with it
``graphfraud --help`` — loads no numerical library.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

#: Public name -> module that defines it.
_EXPORTS = {
    "Dataset": ".dataset",
    "GraphfraudError": ".errors",
    "GraphfraudWarning": ".errors",
    "Ring": ".detect.results",
    "RingDetector": ".detect.detector",
    "RunResult": ".run",
    "evaluate": ".evaluate",
    "load_dataset": ".ingest",
    "synthesize": ".synth",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'graphfraud' has no attribute {name!r}") from None
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


# Redundant aliases mark these as re-exports for type checkers and linters.
if TYPE_CHECKING:  # pragma: no cover
    from .dataset import Dataset as Dataset
    from .detect.detector import RingDetector as RingDetector
    from .detect.results import Ring as Ring
    from .errors import GraphfraudError as GraphfraudError
    from .errors import GraphfraudWarning as GraphfraudWarning
    from .evaluate import evaluate as evaluate
    from .ingest import load_dataset as load_dataset
    from .run import RunResult as RunResult
    from .synth import synthesize as synthesize
