"""graphfraud: find collusion rings behind fake orders and fake reviews (刷单炒信).

The library API needs no CLI: :func:`load_dataset` reads and validates a data
directory, :class:`RingDetector` finds rings, :func:`synthesize` makes demo data and
:func:`evaluate` scores results against ground truth.
"""

__version__ = "0.1.0"

from .dataset import Dataset  # noqa: E402
from .detect.detector import Ring, RingDetector  # noqa: E402
from .errors import GraphfraudError  # noqa: E402
from .evaluate import evaluate  # noqa: E402
from .ingest import load_dataset  # noqa: E402
from .synth import synthesize  # noqa: E402

__all__ = ["Dataset", "GraphfraudError", "Ring", "RingDetector", "__version__", "evaluate", "load_dataset",
           "synthesize"]
