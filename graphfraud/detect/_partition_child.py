"""Partitions one view read from stdin and writes its levels to stdout (see :mod:`.parallel`).

Run as ``python -m graphfraud.detect._partition_child`` by :class:`.parallel.Beside`; the
input is ``(edges, params)`` pickled by that parent, the output the list of (a, group)
frames :func:`~graphfraud.detect.candidates.partition_groups` returns, pickled.
"""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    from .candidates import partition_groups

    edges, params = pickle.load(sys.stdin.buffer)
    pickle.dump(partition_groups(edges, **params), sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
