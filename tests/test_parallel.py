"""The largest view partitioned in a child process gives the candidates the process itself gives."""

from __future__ import annotations

import sys

import pytest

from graphfraud.dataset import Dataset
from graphfraud.detect import candidates, parallel, steps
from graphfraud.detect.detector import RingDetector
from graphfraud.errors import GraphfraudWarning
from graphfraud.synth import synthesize


@pytest.fixture(scope="module")
def views():
    s = RingDetector(seed=0)._validate()
    b = steps.build(Dataset.from_frames(**synthesize(3000, seed=2).tables), s, lambda _m: None)
    graphs = {name: steps.combine_layers([b.layers[n] for n in names]) for name, names in steps.VIEWS.items()}
    return graphs, {"min_size": s.min_size, "max_size": s.max_size, "resolution": s.resolution, "seed": s.seed}


def _generate(graphs, params, monkeypatch, *, cores: int) -> candidates.Candidates:
    monkeypatch.setattr(candidates, "cores", lambda: cores)
    monkeypatch.setattr(candidates, "CHILD_MIN_EDGES", 0)
    return candidates.generate(graphs, **params)


def _same(x: candidates.Candidates, y: candidates.Candidates) -> bool:
    return x.members.equals(y.members) and x.sources.equals(y.sources)


def test_a_view_partitioned_beside_gives_the_same_candidates(views, monkeypatch):
    graphs, params = views
    ran = []
    result = parallel.Beside.result
    monkeypatch.setattr(parallel.Beside, "result", lambda self: ran.append(r := result(self)) or r)
    alone = _generate(graphs, params, monkeypatch, cores=1)
    assert ran == [] and alone.n > 10
    beside = _generate(graphs, params, monkeypatch, cores=2)
    assert len(ran) == 1 and ran[0] is not None, "the child did not partition the largest view"
    assert _same(alone, beside)


@pytest.mark.parametrize(("child", "why"), [
    ([sys.executable, "-c", "import sys; sys.stderr.write('Traceback: boom'); sys.exit(3)"],
     "exited with status 3: ...Traceback: boom"),
    ([sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'not a pickle')"], "output could not be read"),
    (["/nonexistent/python"], "could not start")])
def test_a_child_that_fails_leaves_its_view_to_this_process_and_says_so(views, monkeypatch, child, why):
    graphs, params = views
    alone = _generate(graphs, params, monkeypatch, cores=1)
    monkeypatch.setattr(parallel, "CHILD", child)
    with pytest.warns(GraphfraudWarning) as caught:
        again = _generate(graphs, params, monkeypatch, cores=2)
    assert _same(alone, again)
    (message,) = [str(w.message) for w in caught]
    assert why in message and "partitioned in this process" in message


def test_small_views_and_other_engines_stay_in_process(views, monkeypatch):
    graphs, params = views
    started = []
    monkeypatch.setattr(candidates, "Beside", lambda *a: started.append(a) or pytest.fail("child started"))
    monkeypatch.setattr(candidates, "cores", lambda: 2)
    candidates.generate(graphs, **params)  # every view below CHILD_MIN_EDGES
    assert max(g.height for g in graphs.values()) < parallel.CHILD_MIN_EDGES
    monkeypatch.setattr(candidates, "CHILD_MIN_EDGES", 0)
    engine = candidates.Embedded()
    candidates.generate(graphs, **params, partition=engine)
    assert started == []
