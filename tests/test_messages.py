"""Every error message that names a fix is raised here on the input that causes it.

Each case builds the faulty input for real (a directory where a file should be, bytes
that are not gzip, a run folder with a file deleted …), calls the library as the CLI
does, and checks the exception type, that the message names the file or option at
fault, and that it says what to do. A message that loses its advice fails here.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from graphfraud.errors import (
    DataContractError,
    GraphfraudError,
    Neo4jConnectionError,
    ParameterError,
    RunDirectoryError,
)
from graphfraud.ingest import load_dataset

from .conftest import write


def _reviews_replaced(minimal: Path, name: str, content: bytes | None) -> Path:
    """``minimal`` with reviews.csv swapped for ``name`` (a directory when ``content`` is None)."""
    (minimal / "reviews.csv").unlink()
    if content is None:
        (minimal / name).mkdir()
    else:
        write(minimal, name, content)
    return minimal


INGEST_CASES = {
    # case: (file name, content, words the message must hold)
    "a directory named like a table": ("reviews.csv", None, ("is a directory", "copy the data into a file")),
    "bytes that are not gzip": ("reviews.csv.gz", b"not gzip at all", ("not a valid gzip file", "Re-compress")),
    "an unclosed quote in the header": ("reviews.csv", b'review_id,"account_id,merchant_id\nr1,A1,m1\n',
                                        ("header line cannot be read as CSV", "closing one")),
    "JSONL with no readable line": ("reviews.jsonl", b'{"review_id": "r1", \nnot json\n',
                                    ("no line could be read", "line 1", "Check that it is a reviews table")),
    "a truncated Parquet file": ("reviews.parquet", b"PAR1garbagegarbagePAR1",
                                 ("not a readable Parquet file", "Export the table again")),
    "UTF-16 text": ("reviews.csv", "review_id,account_id\n".encode("utf-16"), ("UTF-16", "save it as UTF-8")),
    "an empty file": ("reviews.csv", b"", ("the file is empty", "header line")),
}


@pytest.mark.parametrize("case", sorted(INGEST_CASES))
def test_ingest_messages_name_the_file_and_the_fix(minimal, case):
    name, content, words = INGEST_CASES[case]
    data = _reviews_replaced(minimal, name, content)
    with pytest.raises(DataContractError) as err:
        load_dataset(data)
    message = str(err.value)
    assert message.startswith(str(data / name)), message
    for word in words:
        assert word in message, (word, message)


def test_a_file_the_system_refuses_to_open(minimal, monkeypatch):
    """Permission denied (as a non-root user would see it) names the file and what to check."""
    import graphfraud.ingest.read as read

    target = str(minimal / "reviews.csv")
    real_open = os.open

    def refusing(path, *args, **kwargs):
        if str(path) == target:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(read.os, "open", refusing)
    with pytest.raises(DataContractError, match=r"reviews\.csv: cannot be read \(Permission denied\)\. "
                                                r"Check the path and permissions\."):
        load_dataset(minimal)


def test_a_data_dir_that_is_not_a_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataContractError, match=r"not a directory\. Give the directory that holds accounts\.csv"):
        load_dataset(missing)


# ---------------------------------------------------------------- run folders
@pytest.fixture
def run_copy(run_dir, tmp_path) -> Path:
    """A private copy of the shared run, free to damage."""
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


def test_export_from_a_folder_that_is_not_a_run(tmp_path):
    from graphfraud.export.casefile import export_cases

    folder = tmp_path / "not-a-run"
    folder.mkdir()
    write(folder, "rings.csv", "ring_id\nR-1\n")
    with pytest.raises(RunDirectoryError, match=r"no manifest\.json, so this is not a complete graphfraud run\. "
                                                "Run 'graphfraud detect DATA_DIR --out RUN_DIR' first"):
        export_cases(folder, tmp_path / "cases")
    with pytest.raises(RunDirectoryError, match=r"not a directory\. Give a folder written by 'graphfraud detect'"):
        export_cases(folder / "rings.csv", tmp_path / "cases")


def test_a_run_with_a_file_missing_or_edited(run_copy):
    from graphfraud.run import RunResult

    (run_copy / "ring_members.csv").write_text((run_copy / "ring_members.csv").read_text("utf-8") + "\n", "utf-8")
    with pytest.raises(RunDirectoryError,
                       match=r"ring_members\.csv does not match the checksum .* into a fresh folder"):
        RunResult.read(run_copy)
    (run_copy / "ring_members.csv").unlink()
    with pytest.raises(RunDirectoryError, match=r"ring_members\.csv is missing; the run is incomplete\. Re-run"):
        RunResult.read(run_copy)


def test_an_interrupted_or_foreign_manifest(run_copy):
    from graphfraud.run import RunResult

    manifest = run_copy / "manifest.json"
    content = json.loads(manifest.read_text("utf-8"))
    manifest.write_text(json.dumps({**content, "complete": False}), "utf-8")
    with pytest.raises(RunDirectoryError, match=r"no completion marker .* Re-run 'graphfraud detect"):
        RunResult.read(run_copy)
    manifest.write_text(json.dumps({**content, "graphfraud_run": 0}), "utf-8")
    with pytest.raises(RunDirectoryError,
                       match=r"written in run format 0, .* Re-run 'graphfraud detect' with this version"):
        RunResult.read(run_copy)
    manifest.write_text("{not json", "utf-8")
    with pytest.raises(RunDirectoryError, match="not valid JSON; the run is damaged"):
        RunResult.read(run_copy)


def test_an_export_selection_that_matches_nothing(run_dir, tmp_path):
    from graphfraud.export.casefile import export_cases

    with pytest.raises(RunDirectoryError, match=r"no ring matches the selection; rings.csv has \d+ ring\(s\)\. "
                                                "Lower --min-evidence, or name rings with --ring"):
        export_cases(run_dir, tmp_path / "cases", min_score=1e12)
    assert not (tmp_path / "cases").exists(), "nothing may be written when nothing is selected"


def test_an_export_of_a_run_without_rings_says_so(run_dir, tmp_path):
    import dataclasses

    from graphfraud.export.casefile import export_cases
    from graphfraud.run import RunResult

    run = RunResult.read(run_dir)
    empty = dataclasses.replace(run, rings=run.rings.head(0), members=run.members.head(0))
    with pytest.raises(RunDirectoryError) as info:
        export_cases(empty, tmp_path / "cases", top=5)
    message = str(info.value)
    # No threshold was given: advice to lower one would send the reader the wrong way.
    assert "rings.csv has no ring" in message and "candidates.csv" in message and "--min-evidence" not in message
    assert not (tmp_path / "cases").exists()


def test_an_output_that_cannot_hold_a_run(tmp_path):
    from graphfraud.run import check_output

    a_file = write(tmp_path, "taken", "x")
    with pytest.raises(RunDirectoryError, match=r"is a file, not a folder\. Choose a new folder"):
        check_output(a_file)
    other = tmp_path / "photos"
    other.mkdir()
    write(other, "holiday.jpg", b"\xff\xd8")
    with pytest.raises(RunDirectoryError, match="holds other files and is not a graphfraud run; refusing"):
        check_output(other)
    assert (other / "holiday.jpg").exists()


def test_unknown_table_formats(tmp_path):
    from graphfraud.export.tables import write_table, write_tables

    frame = pl.DataFrame({"a": [1]})
    with pytest.raises(ParameterError, match=r"x\.xlsx: unknown table format; use one of csv"):
        write_table(frame, tmp_path / "x.xlsx")
    with pytest.raises(ParameterError, match="--format 'xls' is not supported; use one of csv"):
        write_tables({"t": frame}, tmp_path, fmt="xls")
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- Neo4j settings (no server needed)
@pytest.mark.parametrize(("env", "words"), [
    ({}, ("NEO4J_URI is not set", "export NEO4J_URI=bolt://localhost:7687")),
    ({"NEO4J_URI": "bolt://neo4j:hunter2@localhost:7687", "NEO4J_PASSWORD": "x"},
     ("carries credentials in the URI", "NEO4J_PASSWORD")),
    ({"NEO4J_URI": "bolt://localhost:7687"}, ("NEO4J_PASSWORD is not set and there is no terminal",
                                              "never accepted on the command line")),
    # http:// would reach the driver's preview HTTP API (which needs packages we do not ship).
    ({"NEO4J_URI": "http://localhost:7474", "NEO4J_PASSWORD": "x"}, ("is not usable", "graphfraud speaks Bolt")),
    ({"NEO4J_URI": "localhost:7687", "NEO4J_PASSWORD": "x"}, ("is not usable", "use e.g. bolt://localhost:7687")),
])
def test_neo4j_settings_messages(env, words):
    from graphfraud.neo4j.settings import settings_from_env

    with pytest.raises(Neo4jConnectionError) as err:
        settings_from_env(env, prompt=False)
    for word in words:
        assert word in str(err.value)
    assert "hunter2" not in str(err.value), "a password in the URI must never be echoed"


@pytest.mark.parametrize(("uri", "words"), [
    ("bolt://localhost:7687?routing=x", ("is not usable", "use e.g. bolt://localhost:7687")),
    ("bolt://127.0.0.1:9", ("cannot reach Neo4j at bolt://127.0.0.1:9", "or fix NEO4J_URI")),
])
def test_neo4j_unusable_or_unreachable_uri(uri, words):
    from graphfraud.neo4j.gateway import DriverGateway
    from graphfraud.neo4j.settings import settings_from_env

    settings = settings_from_env({"NEO4J_URI": uri, "NEO4J_PASSWORD": "not-a-real-password"}, prompt=False)
    with pytest.raises(Neo4jConnectionError) as err:
        DriverGateway(settings)
    for word in words:
        assert word in str(err.value), str(err.value)
    assert "not-a-real-password" not in str(err.value)


def test_every_error_is_a_graphfraud_error():
    for cls in (DataContractError, ParameterError, RunDirectoryError, Neo4jConnectionError):
        assert issubclass(cls, GraphfraudError)
