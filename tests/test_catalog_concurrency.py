"""Concurrent writers and killed writers on the SQLite catalog (real processes, real SIGKILL).

- 4 processes add 200 distinct entries each plus the same 25 shared minima (each process in its own permuted and
  rescaled form): exactly 4 * 200 + 25 entries afterwards, none lost, none duplicated.
- a writer killed with SIGKILL inside an open write transaction, and one killed at a random moment of a stream of
  adds: the database opens, passes SQLite's integrity check, holds every committed entry, and re-verifies.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from spurious.catalog import Catalog

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from flint import fmpq

from spurious.activations import make_activation
from spurious.candidate import Candidate
from spurious.network import Network, Point
from spurious.problem import FiniteData, Problem

NET = Network.make((1, 2, 1), make_activation("relu"))


def make(k, salt, variant=0):
    """A ReLU 1-2-1 candidate whose labels depend on (k, salt), so each (k, salt) is a distinct problem;
    ``variant`` gives a permuted and rescaled copy of the same point (same canonical id)."""
    X = ((fmpq(0),), (fmpq(1),), (fmpq(3),))
    Y = ((fmpq(0),), (fmpq(1),), (fmpq(k + 1, 1000 + salt),))
    a = fmpq(variant + 1, 2)
    units = [((fmpq(-1, 14),), fmpq(10, 7), fmpq(1)), ((fmpq(1, 3),), fmpq(1), fmpq(1, 2))]
    if variant % 2:
        units = units[::-1]
    Ws = [[[w[0] * a] for w, b, v in units], [[v / a for w, b, v in units]]]
    bs = [[b * a for w, b, v in units], [fmpq(-1)]]
    return Candidate(Problem(NET, FiniteData(X, Y)), Point.from_arrays(Ws, bs), meta={"construction": "test"})


HEADER = textwrap.dedent(f"""
    import json, sys, time
    sys.path.insert(0, {os.path.join(ROOT, "tests")!r})
    from test_catalog_concurrency import make
    from spurious.catalog import Catalog
""")


def _run(script, *args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", HEADER + textwrap.dedent(script), *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _integrity(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def test_four_writers_lose_nothing_and_duplicate_nothing(tmp_path):
    url = str(tmp_path / "concurrent.sqlite")
    script = '''
        url, proc = sys.argv[1], int(sys.argv[2])
        cat = Catalog(url)
        new = 0
        for k in range(200):
            new += cat.add(make(k, salt=proc))[1]
            if k % 8 == 0:  # the shared minima, each process adding its own symmetric copy
                new += cat.add(make(k // 8, salt=99, variant=proc))[1]
        print(json.dumps({"new": new}))
    '''
    procs = [_run(script, url, p) for p in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    import json

    news = sum(json.loads(out)["new"] for out, _ in outs)
    cat = Catalog(url)
    ids = cat.ids()
    shipped = len([r for r in cat.find(include_numerical=True) if r["source"] == "shipped"])
    assert len(ids) == len(set(ids)) == 4 * 200 + 25 + shipped
    assert news == 4 * 200 + 25  # each shared minimum was new for exactly one process
    con = sqlite3.connect(tmp_path / "concurrent.sqlite")
    assert con.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM entries").fetchone() == (len(ids), len(ids))
    con.close()
    assert _integrity(tmp_path / "concurrent.sqlite") == "ok"
    sample = ids[::97]
    assert all(ok for _, ok, _ in cat.verify(sample))


def test_sigkill_inside_a_write_transaction_leaves_the_database_consistent(tmp_path):
    url = str(tmp_path / "killed.sqlite")
    ready = tmp_path / "ready"
    script = '''
        url, ready = sys.argv[1], sys.argv[2]
        cat = Catalog(url, load_shipped=False)
        for k in range(5):
            cat.add(make(k, salt=0))
        row = cat.prepare(make(5, salt=0))
        def inside(conn):
            cat._insert(conn, row, None, None)
            with open(ready, "w") as fh:
                fh.write(row["id"])
            time.sleep(300)
        cat._write(inside)
    '''
    proc = _run(script, url, ready)
    deadline = time.time() + 120
    while not ready.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ready.exists(), proc.communicate()[1]
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    half_written = ready.read_text()
    assert _integrity(tmp_path / "killed.sqlite") == "ok"
    cat = Catalog(url, load_shipped=False)
    ids = cat.ids()
    assert len(ids) == 5 and half_written not in ids
    assert all(ok for _, ok, _ in cat.verify())
    cat.add(make(5, salt=0))  # the lock died with the process: writing works again
    assert half_written in cat.ids()


def test_sigkill_during_a_stream_of_adds_keeps_every_commit(tmp_path):
    url = str(tmp_path / "stream.sqlite")
    script = '''
        url = sys.argv[1]
        cat = Catalog(url, load_shipped=False)
        k = 0
        while True:
            entry_id, new = cat.add(make(k, salt=7))
            print(entry_id, flush=True)
            k += 1
    '''
    proc = _run(script, url)
    committed = []
    while len(committed) < 40:
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"writer died: {proc.stderr.read()}")
        committed.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]  # printed before the kill
    assert _integrity(tmp_path / "stream.sqlite") == "ok"
    cat = Catalog(url, load_shipped=False)
    ids = set(cat.ids())
    assert set(committed) <= ids and len(ids) <= len(committed) + 1
    assert all(ok for _, ok, _ in cat.verify())
