"""Ingest: read files (I/O) -> transform (pure) -> load (assemble a Dataset)."""

from .load import DEFAULT_TZ, LoadReport, LoadResult, TableReport, load_dataset

__all__ = ["DEFAULT_TZ", "LoadReport", "LoadResult", "TableReport", "load_dataset"]
