"""Versioned catalog schema: an explicit version row in ``spurious_meta`` and one upgrade step per version.

Version history:

1. ``entries`` (candidate, certificate, provenance, figures) and ``spurious_meta``.
2. adds ``entries.tags`` (JSON list) and the ``lineage`` table (parent, child, relation); moves the candidate and
   certificate JSON to their own table ``entry_json`` (so that scans of ``entries`` stay small) and replaces the
   family / verdict indexes by composite ones that also serve ORDER BY loss.

Upgrades run inside the caller's transaction, so a failed or interrupted upgrade leaves the previous version intact.
:func:`create_v1_schema` builds the previous version (used by the upgrade test and kept as the reference of v1).
"""

from __future__ import annotations

from sqlalchemy import inspect, text

from ..errors import InputError

__all__ = ["SCHEMA_VERSION", "META_TABLE", "read_version", "ensure_schema", "create_v1_schema", "UPGRADES"]

SCHEMA_VERSION = 2
META_TABLE = "spurious_meta"

_V1_ENTRIES = """
CREATE TABLE entries (
    id VARCHAR(40) NOT NULL PRIMARY KEY,
    candidate_json TEXT NOT NULL,
    certificate_json TEXT NOT NULL,
    content_hash VARCHAR(64) NOT NULL,
    certified BOOLEAN NOT NULL,
    spurious BOOLEAN NOT NULL,
    source VARCHAR(16) NOT NULL,
    family VARCHAR(128),
    reference TEXT,
    params_json TEXT,
    tool_version VARCHAR(32),
    activation VARCHAR(64) NOT NULL,
    activation_full TEXT NOT NULL,
    depth INTEGER NOT NULL,
    widths VARCHAR(256) NOT NULL,
    max_width INTEGER NOT NULL,
    input_dim INTEGER NOT NULL,
    output_dim INTEGER NOT NULL,
    n_samples INTEGER,
    n_params INTEGER NOT NULL,
    weight_decay VARCHAR(64),
    verdict VARCHAR(32) NOT NULL,
    glob VARCHAR(16) NOT NULL,
    rigor VARCHAR(16) NOT NULL,
    loss_value FLOAT,
    loss_exact TEXT,
    witness_loss_value FLOAT,
    witness_loss_exact TEXT,
    gap FLOAT,
    min_eig FLOAT,
    created VARCHAR(32) NOT NULL
)"""

_V1_INDEXES = [
    "CREATE INDEX ix_entries_filter ON entries (certified, activation, depth, max_width, input_dim)",
    "CREATE INDEX ix_entries_family ON entries (family)",
    "CREATE INDEX ix_entries_verdict ON entries (verdict)",
]


def create_v1_schema(conn) -> None:
    """Create the version-1 schema (no tags, no lineage) in an empty database."""
    conn.execute(text(f"CREATE TABLE {META_TABLE} (key VARCHAR(64) NOT NULL PRIMARY KEY, value TEXT NOT NULL)"))
    conn.execute(text(_V1_ENTRIES))
    for stmt in _V1_INDEXES:
        conn.execute(text(stmt))
    conn.execute(text(f"INSERT INTO {META_TABLE} (key, value) VALUES ('schema_version', '1')"))


def _v1_to_v2(conn) -> None:
    conn.execute(text("ALTER TABLE entries ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'"))
    conn.execute(text("CREATE TABLE lineage (parent_id VARCHAR(40) NOT NULL, child_id VARCHAR(40) NOT NULL, "
                      "relation VARCHAR(32) NOT NULL, PRIMARY KEY (parent_id, child_id, relation))"))
    conn.execute(text("CREATE INDEX ix_lineage_child ON lineage (child_id)"))
    conn.execute(text("CREATE TABLE entry_json (id VARCHAR(40) NOT NULL PRIMARY KEY, candidate_json TEXT NOT NULL, "
                      "certificate_json TEXT NOT NULL)"))
    conn.execute(text("INSERT INTO entry_json (id, candidate_json, certificate_json) "
                      "SELECT id, candidate_json, certificate_json FROM entries"))
    conn.execute(text("ALTER TABLE entries DROP COLUMN candidate_json"))
    conn.execute(text("ALTER TABLE entries DROP COLUMN certificate_json"))
    for name in ("ix_entries_family", "ix_entries_verdict"):
        conn.execute(text(f"DROP INDEX {name}"))
    conn.execute(text("CREATE INDEX ix_entries_family ON entries (family, verdict, certified, loss_value)"))
    conn.execute(text("CREATE INDEX ix_entries_verdict ON entries (verdict, certified, loss_value)"))
    conn.execute(text("CREATE INDEX ix_entries_loss ON entries (certified, loss_value)"))


UPGRADES = {1: _v1_to_v2}  # from version k to k + 1


def read_version(conn):
    """The stored schema version, or None in an empty database; InputError for a foreign database."""
    tables = set(inspect(conn).get_table_names())
    if not tables:
        return None
    if META_TABLE not in tables:
        raise InputError(f"this database holds tables {sorted(tables)[:5]} but no {META_TABLE}: not a spurious "
                         "catalog (refusing to touch it)")
    row = conn.execute(text(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'")).first()
    if row is None:
        raise InputError(f"{META_TABLE} has no schema_version: not a spurious catalog (refusing to touch it)")
    try:
        return int(row[0])
    except ValueError:
        raise InputError(f"catalog schema_version {row[0]!r} is not an integer") from None


def ensure_schema(conn, metadata) -> bool:
    """Create the current schema in an empty database or upgrade an older one; True when it was created."""
    version = read_version(conn)
    if version is None:
        metadata.create_all(conn)
        conn.execute(text(f"INSERT INTO {META_TABLE} (key, value) VALUES ('schema_version', :v)"),
                     {"v": str(SCHEMA_VERSION)})
        return True
    if version > SCHEMA_VERSION:
        raise InputError(f"catalog schema version {version} is newer than this spurious ({SCHEMA_VERSION}): "
                         "upgrade spurious")
    while version < SCHEMA_VERSION:
        UPGRADES[version](conn)
        version += 1
        conn.execute(text(f"UPDATE {META_TABLE} SET value = :v WHERE key = 'schema_version'"), {"v": str(version)})
    return False
