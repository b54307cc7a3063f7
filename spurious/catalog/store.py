"""The catalog database: SQLAlchemy 2 models and the :class:`Catalog` class.

An embedded SQLite file under the user's data directory by default (``$XDG_DATA_HOME/spurious/catalog.sqlite``),
or any SQLAlchemy URL (``SPURIOUS_CATALOG`` or the ``url`` argument; a bare path means a SQLite file). Every write
is one transaction. SQLite runs in WAL mode with a busy timeout, writers take the lock up front
(``BEGIN IMMEDIATE``) and retry on "database is locked"; ids are primary keys inserted with ON CONFLICT DO NOTHING,
so concurrent writers lose nothing and duplicate nothing. A file that is not a readable database is never
overwritten or deleted: opening it raises :class:`~spurious.errors.InputError`.

Only proved certificates (rigor exact or interval, decided verdict) are stored unless ``allow_numerical=True``;
numerical entries are flagged and left out of :meth:`Catalog.find` unless ``include_numerical=True``.
"""

from __future__ import annotations

import json
import os
import random
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (Boolean, Float, Index, Integer, String, Text, create_engine, delete, event, exc, insert,
                        select, update)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..candidate import Candidate
from ..errors import InputError
from ..verifiers import verify as run_verify
from ..certificate import Certificate
from . import lineage as _lineage
from .canonical import stable_id
from .entries import Entry, NotCertifiedError, content_hash, figures_of, summary_of, tool_version
from .integrity import check_row
from .migrations import META_TABLE, ensure_schema

__all__ = ["Catalog", "Entry", "NotCertifiedError", "default_url", "FILTERS"]

FILTERS = ("activation", "family", "depth", "max_width", "input_dim", "output_dim", "verdict", "rigor", "widths",
           "spurious", "tag", "source", "include_numerical", "limit", "order_by")
_LOCK_RETRIES = 8
_DIALECT_INSERT = {"sqlite": sqlite_insert, "postgresql": pg_insert}  # both have ON CONFLICT DO NOTHING


class Base(DeclarativeBase):
    pass


class MetaRow(Base):
    __tablename__ = META_TABLE
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class EntryRow(Base):
    """Searchable figures of one entry; derived from its JSON (table ``entry_json``) and re-checked by verify.

    The JSON lives in its own table so that scans of this one stay small (one page holds many rows).
    """

    __tablename__ = "entries"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    certified: Mapped[bool] = mapped_column(Boolean)
    spurious: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(16))
    family: Mapped[str | None] = mapped_column(String(128))
    reference: Mapped[str | None] = mapped_column(Text)
    params_json: Mapped[str | None] = mapped_column(Text)
    tool_version: Mapped[str | None] = mapped_column(String(32))
    activation: Mapped[str] = mapped_column(String(64))
    activation_full: Mapped[str] = mapped_column(Text)
    depth: Mapped[int] = mapped_column(Integer)
    widths: Mapped[str] = mapped_column(String(256))
    max_width: Mapped[int] = mapped_column(Integer)
    input_dim: Mapped[int] = mapped_column(Integer)
    output_dim: Mapped[int] = mapped_column(Integer)
    n_samples: Mapped[int | None] = mapped_column(Integer)
    n_params: Mapped[int] = mapped_column(Integer)
    weight_decay: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(32))
    glob: Mapped[str] = mapped_column(String(16))
    rigor: Mapped[str] = mapped_column(String(16))
    loss_value: Mapped[float | None] = mapped_column(Float)
    loss_exact: Mapped[str | None] = mapped_column(Text)
    witness_loss_value: Mapped[float | None] = mapped_column(Float)
    witness_loss_exact: Mapped[str | None] = mapped_column(Text)
    gap: Mapped[float | None] = mapped_column(Float)
    min_eig: Mapped[float | None] = mapped_column(Float)
    created: Mapped[str] = mapped_column(String(32))
    tags: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")

    __table_args__ = (
        Index("ix_entries_filter", "certified", "activation", "depth", "max_width", "input_dim"),
        Index("ix_entries_family", "family", "verdict", "certified", "loss_value"),
        Index("ix_entries_verdict", "verdict", "certified", "loss_value"),
        Index("ix_entries_loss", "certified", "loss_value"),
    )


class EntryJsonRow(Base):
    """The stored candidate (as ``candidate.to_json()`` produced it) and certificate, verbatim."""

    __tablename__ = "entry_json"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    candidate_json: Mapped[str] = mapped_column(Text)
    certificate_json: Mapped[str] = mapped_column(Text)


class LineageRow(Base):
    __tablename__ = "lineage"
    parent_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    relation: Mapped[str] = mapped_column(String(32), primary_key=True)
    __table_args__ = (Index("ix_lineage_child", "child_id"),)


ENTRIES = EntryRow.__table__
JSON = EntryJsonRow.__table__
LINEAGE = LineageRow.__table__
_JSON_COLS = ("candidate_json", "certificate_json")


def _split(row):
    """(entries row, entry_json row) from a prepared row."""
    return ({k: v for k, v in row.items() if k not in _JSON_COLS},
            {"id": row["id"], **{k: row[k] for k in _JSON_COLS}})


def _full_row_query():
    return select(ENTRIES, JSON.c.candidate_json, JSON.c.certificate_json).join(JSON, JSON.c.id == ENTRIES.c.id,
                                                                                       isouter=True)


def default_url() -> str:
    """``SPURIOUS_CATALOG`` if set, else a SQLite file in the user's data directory (XDG)."""
    env = os.environ.get("SPURIOUS_CATALOG")
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return str(Path(base) / "spurious" / "catalog.sqlite")


def _normalise_url(url: str, create_dir: bool):
    if "://" not in url:  # a bare path: a SQLite file
        path = Path(url).expanduser()
        if create_dir:
            path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    try:
        return make_url(url)
    except exc.ArgumentError as e:
        raise InputError(f"catalog URL {url!r} is not a valid SQLAlchemy URL ({e})") from None


def _sqlite_listeners(engine):
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # transactions are begun explicitly below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        mode = conn.get_execution_options().get("spurious_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _is_lock_error(e) -> bool:
    msg = str(getattr(e, "orig", e)).lower()
    return "locked" in msg or "busy" in msg or "deadlock" in msg or "could not serialize" in msg


def _one_line(e) -> str:
    return str(getattr(e, "orig", None) or e).strip().splitlines()[0]


class Catalog:
    """A catalog of candidates with their certificates (see the module docstring).

    Parameters
    ----------
    url : SQLAlchemy URL or a path to a SQLite file; default :func:`default_url`.
    load_shipped : load the candidate files shipped in ``spurious/catalog/shipped`` when they changed since the
        last load (always on the first open of an empty catalog).
    """

    def __init__(self, url: str | None = None, *, load_shipped: bool = True):
        explicit = url is not None or bool(os.environ.get("SPURIOUS_CATALOG"))
        self.url = _normalise_url(str(url) if url is not None else default_url(), create_dir=not explicit)
        self.backend = self.url.get_backend_name()
        try:
            kwargs = {"connect_args": {"timeout": 30}} if self.backend == "sqlite" else {"pool_pre_ping": True}
            self.engine = create_engine(self.url, **kwargs)
        except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as e:
            raise InputError(f"catalog URL {self.url.render_as_string(hide_password=True)!r}: {_one_line(e)}") \
                from None
        if self.backend == "sqlite":
            _sqlite_listeners(self.engine)
        self._open_schema()
        if load_shipped:
            from .shipped_loader import load_shipped_entries

            load_shipped_entries(self)

    # connections --------------------------------------------------------------------------------
    def _where(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def _db_error(self, e):
        return InputError(f"catalog {self._where()}: cannot use the database ({_one_line(e)}); "
                          "nothing was changed or deleted")

    @contextmanager
    def _read(self):
        try:
            with self.engine.connect() as conn:
                yield conn
        except exc.DBAPIError as e:
            raise self._db_error(e) from None

    def _write(self, fn):
        """Run ``fn(conn)`` in one write transaction, retrying when the database is locked by another writer."""
        for attempt in range(_LOCK_RETRIES):
            try:
                with self.engine.connect() as conn:
                    conn.execution_options(spurious_begin="IMMEDIATE")
                    with conn.begin():
                        if self.backend == "postgresql":
                            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
                        return fn(conn)
            except exc.OperationalError as e:
                if not _is_lock_error(e) or attempt == _LOCK_RETRIES - 1:
                    raise self._db_error(e) from None
                time.sleep(0.05 * 2 ** attempt * (1 + random.random()))
            except exc.DBAPIError as e:
                if isinstance(e, exc.IntegrityError):
                    raise
                raise self._db_error(e) from None

    def _open_schema(self):
        try:
            with self.engine.connect() as conn:  # fast path: already at the current version
                from .migrations import SCHEMA_VERSION, read_version

                if read_version(conn) == SCHEMA_VERSION:
                    return
        except exc.DBAPIError as e:
            raise self._db_error(e) from None
        self._write(lambda conn: ensure_schema(conn, Base.metadata))

    def close(self):
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    # meta key/value --------------------------------------------------------------------------------
    def get_meta(self, key):
        with self._read() as conn:
            return conn.execute(select(MetaRow.value).where(MetaRow.key == key)).scalar()

    def set_meta(self, key, value):
        def fn(conn):
            if conn.execute(select(MetaRow.key).where(MetaRow.key == key)).first():
                conn.execute(update(MetaRow).where(MetaRow.key == key).values(value=value))
            else:
                conn.execute(insert(MetaRow).values(key=key, value=value))
        self._write(fn)

    # writing ------------------------------------------------------------------------------------
    def prepare(self, candidate: Candidate, certificate: Certificate | None = None, *, allow_numerical=False,
                source="user", tags=(), shipped_certificate: dict | None = None) -> dict:
        """Verify ``candidate`` and build its row (no database access); raises NotCertifiedError when refused.

        ``shipped_certificate``: the certificate JSON shipped with the package beside a shipped candidate (part of
        the package, like its code); it is stored without re-proving so that a fresh catalog opens fast, and
        ``catalog verify`` re-proves it like every other entry.
        """
        if not isinstance(candidate, Candidate):
            raise InputError(f"add: expected a Candidate, got {type(candidate).__name__}")
        if shipped_certificate is not None:
            return self._row(candidate, shipped_certificate, source, tags)
        cert = run_verify(candidate)
        if certificate is not None and (certificate.verdict, certificate.glob, certificate.rigor) != \
                (cert.verdict, cert.glob, cert.rigor):
            raise InputError(f"the given certificate ({certificate.verdict}, {certificate.glob}, {certificate.rigor})"
                             f" disagrees with re-verification ({cert.verdict}, {cert.glob}, {cert.rigor})")
        if not cert.proved and not allow_numerical:
            raise NotCertifiedError(f"not stored: verification gives {cert.verdict} with rigor {cert.rigor}; only "
                                    "proved certificates are catalogued (allow_numerical / --allow-numerical stores "
                                    "evidence, flagged numerical)")
        return self._row(candidate, cert.to_json(), source, tags)

    def _row(self, candidate, cert_json: dict, source, tags) -> dict:
        cand_text = json.dumps(candidate.to_json(), separators=(",", ":"), allow_nan=False)
        cert_text = json.dumps(cert_json, separators=(",", ":"), allow_nan=False)
        row = {"id": stable_id(candidate), "candidate_json": cand_text, "certificate_json": cert_text,
               "source": source, "tags": json.dumps(sorted(set(tags))),
               "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        row.update(figures_of(candidate, cert_json))
        row["tool_version"] = tool_version()
        row["content_hash"] = content_hash(row)
        return row

    def add(self, candidate, certificate=None, *, allow_numerical=False, parent=None, relation=None, tags=(),
            source="user"):
        """Verify and store a candidate; returns ``(id, new)``. Permuted / rescaled copies get the same id.

        A stored numerical entry is replaced when the same minimum arrives with a proved certificate.
        ``parent`` and ``relation`` record a lineage edge parent -> this entry in the same transaction.
        """
        if (parent is None) != (relation is None):
            raise InputError("add: give both parent and relation, or neither")
        if relation is not None:
            _lineage.check_relation(relation)
        row = self.prepare(candidate, certificate, allow_numerical=allow_numerical, source=source, tags=tags)
        return self._write(lambda conn: self._insert(conn, row, parent, relation))

    def add_rows(self, rows):
        """Insert prepared rows (from :meth:`prepare`) in one transaction; returns [(id, new)]."""
        out = self._write(lambda conn: [self._insert(conn, row, None, None) for row in rows])
        if len(rows) >= 1000:
            self.analyze()
        return out

    def _insert(self, conn, row, parent, relation):
        if parent is not None:
            parent = self._resolve(conn, parent)
        figures, blob = _split(row)
        new = self._insert_ignore(conn, figures)
        if new:
            conn.execute(insert(JSON).values(**blob))
        elif row["certified"]:
            stored = conn.execute(select(ENTRIES.c.certified).where(ENTRIES.c.id == row["id"])).scalar()
            if not stored:  # upgrade numerical evidence to a certificate
                conn.execute(update(ENTRIES).where(ENTRIES.c.id == row["id"]).values(**figures))
                conn.execute(update(JSON).where(JSON.c.id == row["id"]).values(**blob))
        if parent is not None:
            _lineage.insert_edge(conn, LINEAGE, parent, row["id"], relation)
        return row["id"], new

    def _insert_ignore(self, conn, row) -> bool:
        if self.backend in ("sqlite", "postgresql"):
            stmt = _DIALECT_INSERT[self.backend](ENTRIES).values(**row).on_conflict_do_nothing(index_elements=["id"])
            return conn.execute(stmt.returning(ENTRIES.c.id)).first() is not None
        if conn.execute(select(ENTRIES.c.id).where(ENTRIES.c.id == row["id"])).first():
            return False
        conn.execute(insert(ENTRIES).values(**row))
        return True

    def bulk_insert(self, rows, batch=10_000):
        """Insert prepared rows without any check (benchmarks, imports of trusted dumps); one transaction."""
        def fn(conn):
            for i in range(0, len(rows), batch):
                parts = [_split(r) for r in rows[i:i + batch]]
                conn.execute(insert(ENTRIES), [a for a, _ in parts])
                conn.execute(insert(JSON), [b for _, b in parts])
        self._write(fn)
        self.analyze()

    def analyze(self):
        """Refresh the query planner's statistics (after large writes)."""
        self._write(lambda conn: conn.exec_driver_sql("ANALYZE"))

    def link(self, parent, child, relation):
        """Record a lineage edge between two stored entries."""
        _lineage.check_relation(relation)

        def fn(conn):
            _lineage.insert_edge(conn, LINEAGE, self._resolve(conn, parent), self._resolve(conn, child), relation)
        self._write(fn)

    def remove(self, entry_id):
        """Delete one entry and its lineage edges (one transaction)."""
        def fn(conn):
            full = self._resolve(conn, entry_id)
            conn.execute(delete(ENTRIES).where(ENTRIES.c.id == full))
            conn.execute(delete(JSON).where(JSON.c.id == full))
            conn.execute(delete(LINEAGE).where((LINEAGE.c.parent_id == full) | (LINEAGE.c.child_id == full)))
            return full
        return self._write(fn)

    # reading ------------------------------------------------------------------------------------
    def _resolve(self, conn, entry_id) -> str:
        """Full id from an id or a unique prefix of at least 6 hex digits."""
        if not isinstance(entry_id, str) or not entry_id.strip():
            raise InputError(f"expected an entry id, got {entry_id!r}")
        entry_id = entry_id.strip().lower()
        if conn.execute(select(ENTRIES.c.id).where(ENTRIES.c.id == entry_id)).first():
            return entry_id
        if len(entry_id) >= 6 and all(ch in "0123456789abcdef" for ch in entry_id):
            c = ENTRIES.c.id  # a range on the primary key (uses the index), then the exact prefix test
            q = select(c).where(c >= entry_id, c <= entry_id + "f" * (40 - len(entry_id)), c.like(entry_id + "%"))
            hits = conn.execute(q.limit(2)).scalars().all()
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise InputError(f"id prefix {entry_id!r} is ambiguous: give more digits")
        raise InputError(f"no catalog entry with id {entry_id!r}")

    def get(self, entry_id) -> Entry:
        with self._read() as conn:
            full = self._resolve(conn, entry_id)
            row = conn.execute(_full_row_query().where(ENTRIES.c.id == full)).mappings().one()
        if row["candidate_json"] is None or row["certificate_json"] is None:
            raise InputError(f"entry {full} has lost its stored JSON (the database was changed outside spurious); "
                             "run `spurious catalog verify`")
        if content_hash(row) != row["content_hash"]:
            raise InputError(f"entry {full} fails its content-hash check (changed outside spurious): not trusted; "
                             "see `spurious catalog verify`")
        return Entry.from_row(dict(row))

    def find(self, **filters) -> list:
        """Entries matching all filters, as summary dicts (id, family, activation, widths, verdict, loss, ...).

        Filters: activation (name), family, depth, max_width (max hidden width <= K), input_dim, output_dim, verdict,
        rigor, widths ("1-2-1" or a list), spurious (bool), tag, source, include_numerical (default False),
        limit, order_by ("loss" default, "created" or "id").
        """
        unknown = set(filters) - set(FILTERS)
        if unknown:
            raise InputError(f"find: unknown filter(s) {sorted(unknown)}; known: {', '.join(FILTERS)}")
        c = ENTRIES.c
        q = select(ENTRIES)
        if not filters.get("include_numerical"):
            q = q.where(c.certified == True)  # noqa: E712
        eq = {"activation": c.activation, "family": c.family, "depth": c.depth, "input_dim": c.input_dim,
              "output_dim": c.output_dim, "verdict": c.verdict, "rigor": c.rigor, "source": c.source}
        for key, col in eq.items():
            if filters.get(key) is not None:
                q = q.where(col == filters[key])
        if filters.get("max_width") is not None:
            q = q.where(c.max_width <= int(filters["max_width"]))
        if filters.get("widths") is not None:
            w = filters["widths"]
            q = q.where(c.widths == (w if isinstance(w, str) else "-".join(map(str, w))))
        if filters.get("spurious") is not None:
            q = q.where(c.spurious == bool(filters["spurious"]))
        if filters.get("tag"):
            q = q.where(c.tags.contains(json.dumps(str(filters["tag"])), autoescape=True))
        order = {"loss": (c.loss_value, c.id), "created": (c.created, c.id), "id": (c.id,)}
        if filters.get("order_by", "loss") not in order:
            raise InputError(f"find: order_by must be one of {sorted(order)}")
        q = q.order_by(*order[filters.get("order_by", "loss")])
        if filters.get("limit") is not None:
            q = q.limit(int(filters["limit"]))
        with self._read() as conn:
            return [summary_of(dict(r)) for r in conn.execute(q).mappings()]

    def ids(self) -> list:
        with self._read() as conn:
            return list(conn.execute(select(ENTRIES.c.id).order_by(ENTRIES.c.id)).scalars())

    def stats(self) -> dict:
        """Counts: total, certified, numerical, spurious, and per family / activation / verdict (certified only)."""
        from sqlalchemy import func

        c = ENTRIES.c
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(ENTRIES)).scalar()
            cert = conn.execute(select(func.count()).where(c.certified == True)).scalar()  # noqa: E712
            spur = conn.execute(select(func.count()).where(c.spurious == True)).scalar()  # noqa: E712
            groups = {}
            for name in ("family", "activation", "verdict", "depth"):
                col = getattr(c, name)
                rows = conn.execute(select(col, func.count()).where(c.certified == True)  # noqa: E712
                                    .group_by(col).order_by(col)).all()
                groups[name] = {str(k): n for k, n in rows}
            edges = conn.execute(select(func.count()).select_from(LINEAGE)).scalar()
        return {"total": total, "certified": cert, "numerical": total - cert, "spurious": spur,
                "lineage_edges": edges, **groups}

    def lineage(self, entry_id):
        """The connected lineage component of an entry as a networkx DiGraph (edge attribute ``relation``)."""
        with self._read() as conn:
            return _lineage.component(conn, ENTRIES, LINEAGE, self._resolve(conn, entry_id))

    # integrity ----------------------------------------------------------------------------------
    def verify(self, ids=None) -> list:
        """Re-check entries from their stored numbers: [(id, ok, message)].

        Checks the content hash, that the candidate parses and hashes to its id, that the figure columns match the
        stored JSON, and re-proves the candidate (verify() again), comparing verdict, global status and rigor.
        """
        with self._read() as conn:
            if ids is None:
                full = list(conn.execute(select(ENTRIES.c.id).order_by(ENTRIES.c.id)).scalars())
            else:
                full = [self._resolve(conn, i) for i in ids]
        out = []
        for entry_id in full:
            with self._read() as conn:
                row = conn.execute(_full_row_query().where(ENTRIES.c.id == entry_id)).mappings().first()
            if row is None:  # removed meanwhile
                continue
            ok, message = check_row(dict(row), run_verify)
            out.append((entry_id, ok, message))
        return out
