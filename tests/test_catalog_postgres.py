"""The catalog against a real PostgreSQL server (started here from Debian's packages; skipped when impossible).

The server runs from a temporary data directory on a free localhost port, as the ``postgres`` system user when the
tests run as root (PostgreSQL refuses to run as root). Each test gets its own database.
"""

import glob
import itertools
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

import pytest
from sqlalchemy import create_engine, text

from spurious.catalog import Catalog, stable_id
from spurious.catalog.migrations import SCHEMA_VERSION, create_v1_schema
from spurious.catalog.shipped_loader import shipped_files

_counter = itertools.count()


def _pg_bindir():
    found = shutil.which("pg_ctl")
    candidates = ([os.path.dirname(os.path.realpath(found))] if found else []) + \
        sorted((os.path.dirname(p) for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")), reverse=True)
    for d in candidates:
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'psycopg[binary]', extra 'postgres')")
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (pg_ctl/initdb); apt-get install postgresql to run these tests")
    prefix = []
    root = tempfile.mkdtemp(prefix="spurious-pg-")
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = [runuser, "-u", "postgres", "--"]
    data, log, port = os.path.join(root, "data"), os.path.join(root, "log"), _free_port()
    run = lambda *args: subprocess.run(prefix + list(args), capture_output=True, text=True, timeout=120)  # noqa: E731
    r = run(os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
    if r.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {r.stderr.strip().splitlines()[-1:]}")
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    r = run(os.path.join(bindir, "pg_ctl"), "-D", data, "-l", log, "-o", opts, "-w", "start")
    if r.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {r.stderr.strip() or r.stdout.strip()}")
    base = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    try:
        yield base
    finally:
        run(os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(server):
    name = f"cat_{os.getpid()}_{next(_counter)}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{server}/{name}"


def test_round_trip_dedup_filters_lineage(pg_url):
    from test_catalog import cand, random_image

    import random

    cat = Catalog(pg_url)
    assert len(cat.ids()) == len(shipped_files())
    a, b = cand(1), cand(2, widths=(2, 4, 1))
    ia, new = cat.add(a)
    assert new and ia == stable_id(a)
    assert cat.add(random_image(a, random.Random(0))) == (ia, False)
    ib = cat.add(b, parent=ia, relation="split-neuron")[0]
    assert cat.get(ia).candidate_json == a.to_json()
    assert {r["id"] for r in cat.find(family="random-test", max_width=3)} == {ia}
    assert {r["id"] for r in cat.find(family="random-test", widths="2-4-1")} == {ib}
    G = cat.lineage(ib)
    assert G.edges[ia, ib]["relation"] == "split-neuron"
    assert all(ok for _, ok, _ in cat.verify())
    cat.remove(ib)
    assert cat.lineage(ia).number_of_edges() == 0


def test_tampering_is_caught(pg_url):
    from test_catalog import cand

    cat = Catalog(pg_url)
    entry_id = cat.add(cand(3))[0]
    doc = cat.get(entry_id).candidate_json
    doc["data"]["Y"][0][0] = "1/1234"
    with create_engine(pg_url).begin() as conn:
        conn.execute(text("UPDATE entry_json SET candidate_json = :j WHERE id = :id"),
                     {"j": json.dumps(doc), "id": entry_id})
    (_, ok, msg), = cat.verify([entry_id])
    assert not ok and "TAMPERED" in msg


def test_concurrent_writers(pg_url):
    from test_catalog_concurrency import _run

    script = '''
        url, proc = sys.argv[1], int(sys.argv[2])
        cat = Catalog(url)
        for k in range(50):
            cat.add(make(k, salt=proc))
            if k % 5 == 0:
                cat.add(make(k // 5, salt=99, variant=proc))
    '''
    procs = [_run(script, pg_url, p) for p in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    ids = Catalog(pg_url).ids()
    assert len(ids) == len(set(ids)) == 3 * 50 + 10 + len(shipped_files())


def test_schema_upgrade_from_v1(pg_url):
    from test_catalog import cand

    row = Catalog("sqlite://", load_shipped=False).prepare(cand(4))
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        create_v1_schema(conn)
        v1 = {k: v for k, v in row.items() if k != "tags"}
        conn.execute(text(f"INSERT INTO entries ({', '.join(v1)}) VALUES ({', '.join(':' + k for k in v1)})"), v1)
    engine.dispose()
    cat = Catalog(pg_url)
    assert cat.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert cat.get(row["id"]).tags == []
    assert all(ok for _, ok, _ in cat.verify())


def test_unreachable_server_is_one_line_input_error(server):
    from spurious.errors import InputError

    with pytest.raises(InputError, match="cannot use the database"):
        Catalog(server.rsplit(":", 1)[0] + f":{_free_port()}/postgres")
