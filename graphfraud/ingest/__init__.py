"""Ingest: read files (I/O) -> transform (pure) -> load (assemble a Dataset)."""

from ..contract import DEFAULT_TZ
from .load import LoadReport, LoadResult, TableReport, load_dataset

__all__ = ["DEFAULT_TZ", "LoadReport", "LoadResult", "TableReport", "load_dataset"]
