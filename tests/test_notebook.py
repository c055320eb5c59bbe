"""The investigation notebook is executed on small data so it cannot rot."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "investigate_rings.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text("utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.slow
def test_notebook_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHFRAUD_NOTEBOOK_ACCOUNTS", "3000")
    monkeypatch.delenv("GRAPHFRAUD_DATA", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    resources = {"metadata": {"path": str(NOTEBOOK.parent.parent)}}
    NotebookClient(nb, timeout=600, kernel_name="python3", resources=resources).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "rings flagged" in text and "report.html" in text
    # The tip section: a ring member leads to its ring (asserted in the cell), an outsider to none.
    assert "no ring supported" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # score distribution, timeline, evidence graph
