"""``spurious catalog ...``: list, show, add, remove, export, import, verify, stats, lineage, link.

Every command takes ``--catalog URL`` (default ``$SPURIOUS_CATALOG``, else a SQLite file in the user's data
directory) and ``--json``. Bad input (unknown id, bad URL, unreadable database, a candidate that does not verify
as a proof without ``--allow-numerical``) prints one ``error:`` line and exits 2; ``verify`` exits 1 when an entry
fails its re-check.
"""

from __future__ import annotations

import json
import sys

import click
from rich.text import Text

from ..candidate import load_candidate
from ..errors import InputError
from ..certificate import VERDICTS
from . import OUTPUT_FILE, cli
from .render import console, data_table, print_certificate

_FORMAT_EXT = {"json": "json", "npz": "npz", "torch": "pt"}


def _common(fn):
    fn = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(fn)
    fn = click.option("--catalog", "url", envvar="SPURIOUS_CATALOG", default=None, metavar="URL",
                      help="SQLAlchemy URL or SQLite path (default: $SPURIOUS_CATALOG, else the user data dir).")(fn)
    return fn


def _open(url):
    from ..catalog import Catalog

    return Catalog(url)


def _echo_json(obj):
    click.echo(json.dumps(obj, indent=1, allow_nan=False, default=str))


@cli.group("catalog")
def catalog_group():
    """Search, export and re-verify the catalog of certified minima."""


@catalog_group.command("list")
@click.option("--activation", help="Activation name (relu, tanh, ...).")
@click.option("--family", help="Construction family (meta.construction).")
@click.option("--depth", type=click.IntRange(min=1), help="Number of weight layers L.")
@click.option("--max-width", type=click.IntRange(min=1), help="Largest hidden width at most K.")
@click.option("--input-dim", type=click.IntRange(min=1))
@click.option("--verdict", type=click.Choice(VERDICTS))
@click.option("--spurious", "spurious_only", is_flag=True, help="Only proved spurious minima.")
@click.option("--include-numerical", is_flag=True, help="Also list numerical evidence (flagged, not certified).")
@click.option("--limit", type=click.IntRange(min=1))
@_common
def list_cmd(activation, family, depth, max_width, input_dim, verdict, spurious_only, include_numerical, limit,
             url, as_json):
    """List entries matching the filters (certified only unless --include-numerical), lowest loss first."""
    cat = _open(url)
    _check_filters(cat, activation, family)
    rows = cat.find(activation=activation, family=family, depth=depth, max_width=max_width, input_dim=input_dim,
                    verdict=verdict, spurious=True if spurious_only else None, include_numerical=include_numerical,
                    limit=limit)
    if as_json:
        _echo_json(rows)
        return
    table = data_table("id", "family", "activation", "widths", "verdict", "global", "rigor", "loss")
    for r in rows:
        rigor = r["rigor"] if r["certified"] else Text(f"{r['rigor']} (evidence)", style="yellow")
        table.add_row(r["id"], r["family"] or "-", r["activation"], r["widths"], r["verdict"], r["global"], rigor,
                      _loss_text(r))
    console.print(table)
    hidden = 0 if include_numerical else cat.stats()["numerical"]
    console.print(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}" +
                  (f"; {hidden} numerical entr{'y' if hidden == 1 else 'ies'} hidden (--include-numerical)"
                   if hidden else ""))


def _check_filters(cat, activation, family):
    """An activation or family that no entry could have is a mistake, not an empty table."""
    from ..activations import KNOWN_ACTIVATIONS
    from ..constructions import families

    if activation is not None and any(a not in KNOWN_ACTIVATIONS for a in activation.split(",")):
        raise InputError(f"--activation: unknown activation {activation!r}; known: {', '.join(KNOWN_ACTIVATIONS)}")
    if family is not None:
        known = sorted({f.name for f in families()} | set(cat.stats()["family"]))
        if family not in known:
            raise InputError(f"--family: unknown family {family!r}; known: {', '.join(known)}")


def _loss_text(r, limit=40):
    """The stored loss in full when short; else its decimal value, marked approximate (full value: --json)."""
    from ..rationals import decimal_str, parse_number

    exact = r.get("loss_exact")
    if exact is None:
        return "-"
    if isinstance(exact, list):
        text = f"[{exact[0]}, {exact[1]}]"
        if len(text) <= limit:
            return text
        lo, hi = (decimal_str(parse_number(x), 12) for x in exact)
        return f"~[{lo}, {hi}] (enclosure; exact ends: --json)"
    text = str(exact)
    return text if len(text) <= limit else f"~{decimal_str(parse_number(exact), 12)} (exact rational: --json)"


@catalog_group.command("show")
@click.argument("entry_id")
@_common
def show_cmd(entry_id, url, as_json):
    """Everything stored about one entry (an id or a unique prefix of at least 6 digits)."""
    entry = _open(url).get(entry_id)
    if as_json:
        _echo_json(entry.to_json())
        return
    console.print(Text.assemble((entry.id, "bold"), "" if entry.certified else
                                ("  (numerical evidence, not a certificate)", "yellow")))
    prov = entry.provenance
    for key in ("family", "reference", "params", "tool_version"):
        console.print(f"{key}: {prov.get(key)}", markup=False)
    f = entry.figures
    console.print(f"network: widths {f['widths']}, activation {f['activation']}, {f['n_params']} parameters, "
                  f"{f['n_samples']} samples", markup=False)
    console.print(f"tags: {', '.join(entry.tags) or '-'}   source: {entry.source}   created: {entry.created}",
                  markup=False)
    print_certificate(entry.certificate)


@catalog_group.command("add")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--allow-numerical", is_flag=True, help="Store numerical evidence (flagged) when no proof applies.")
@click.option("--parent", help="Lineage: the entry this one derives from.")
@click.option("--relation", help="Lineage relation (split-neuron, embedding, restriction, symmetry-image, derived).")
@click.option("--tag", "tags", multiple=True)
@_common
def add_cmd(path, allow_numerical, parent, relation, tags, url, as_json):
    """Verify a candidate file and store it; permuted or rescaled copies of a stored minimum are not new."""
    candidate = load_candidate(path)
    entry_id, new = _open(url).add(candidate, allow_numerical=allow_numerical, parent=parent, relation=relation,
                                   tags=tags)
    if as_json:
        _echo_json({"id": entry_id, "new": new})
    else:
        click.echo(f"{entry_id} {'added' if new else 'already in the catalog'}")


@catalog_group.command("remove")
@click.argument("entry_id")
@_common
def remove_cmd(entry_id, url, as_json):
    """Delete one entry and its lineage edges."""
    full = _open(url).remove(entry_id)
    if as_json:
        _echo_json({"id": full, "removed": True})
    else:
        click.echo(f"{full} removed")


@catalog_group.command("export")
@click.argument("entry_id")
@click.option("--format", "fmt", type=click.Choice(["json", "npz", "torch"]), default="json", show_default=True)
@click.option("--out", type=OUTPUT_FILE, help="Output file (json: stdout when omitted; "
                                                              "npz/torch: ID.npz / ID.pt).")
@_common
def export_cmd(entry_id, fmt, out, url, as_json):
    """Export an entry: json (candidate + certificate), npz (no pickle), torch (state_dict for build_module)."""
    from ..catalog.export import export_json, network_path, write_export

    entry = _open(url).get(entry_id)
    if fmt == "json" and out is None and not as_json:
        click.echo(export_json(entry))
        return
    out = out or f"{entry.id}.{_FORMAT_EXT[fmt]}"
    write_export(entry, fmt, out)
    arch = network_path(out) if fmt == "torch" else None
    if as_json:
        _echo_json({"id": entry.id, "format": fmt, "path": out, **({"network": arch} if arch else {})})
    else:
        click.echo(f"wrote {out}" + (f" and {arch} (the architecture: the entry's network)" if arch else ""))
        if fmt == "torch":
            click.echo(f"load: m = spurious.catalog.export.build_module_from_json(json.load(open({arch!r}))); "
                       f"m.load_state_dict(state), with state read from {out!r} by torch with weights_only=True")


def _read_import(path):
    """A candidate file or an exported entry document -> (candidate, tags)."""
    from ..candidate import load_document

    candidate, entry = load_document(path)
    tags = (entry or {}).get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InputError(f"{path}: tags must be a list of strings")
    return candidate, tuple(tags)


@catalog_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--allow-numerical", is_flag=True)
@_common
def import_cmd(paths, allow_numerical, url, as_json):
    """Verify and store candidate files or exported entries, all in one transaction (every file is read first)."""
    from ..catalog import NotCertifiedError

    cat = _open(url)
    parsed = [(p, *_read_import(p)) for p in paths]  # any unreadable file: exit 2 before writing anything
    rows, report = [], []
    for path, candidate, tags in parsed:
        try:
            rows.append((path, cat.prepare(candidate, allow_numerical=allow_numerical, tags=tags)))
        except NotCertifiedError as exc:
            report.append({"path": path, "id": None, "new": False, "error": str(exc)})
    results = cat.add_rows([r for _, r in rows]) if rows else []
    report += [{"path": p, "id": i, "new": n, "error": None} for (p, _), (i, n) in zip(rows, results)]
    if as_json:
        _echo_json(report)
    else:
        for r in report:
            click.echo(f"{r['path']}: " + (f"error: {r['error']}" if r["error"] else
                                           f"{r['id']} {'added' if r['new'] else 'already in the catalog'}"))
    if any(r["error"] for r in report):
        sys.exit(1)


@catalog_group.command("verify")
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every entry (the default when no id is given).")
@_common
def verify_cmd(ids, all_, url, as_json):
    """Re-prove entries from their stored numbers and check for tampering (exit 1 if any fails)."""
    results = _open(url).verify(None if all_ or not ids else list(ids))
    if as_json:
        _echo_json([{"id": i, "ok": ok, "message": m} for i, ok, m in results])
    else:
        for i, ok, m in results:
            click.echo(f"{i} {'ok' if ok else 'FAIL'}: {m}")
        bad = sum(not ok for _, ok, _ in results)
        click.echo(f"{len(results) - bad} of {len(results)} entries passed")
    if any(not ok for _, ok, _ in results):
        sys.exit(1)


@catalog_group.command("stats")
@_common
def stats_cmd(url, as_json):
    """Counts by family, activation, verdict and depth."""
    stats = _open(url).stats()
    if as_json:
        _echo_json(stats)
        return
    console.print(f"{stats['total']} entries: {stats['certified']} certified ({stats['spurious']} proved spurious), "
                  f"{stats['numerical']} numerical evidence; {stats['lineage_edges']} lineage edges")
    for key in ("family", "activation", "verdict", "depth"):
        console.print(f"{key}: " + (", ".join(f"{k} {n}" for k, n in stats[key].items()) or "-"), markup=False)


@catalog_group.command("lineage")
@click.argument("entry_id")
@_common
def lineage_cmd(entry_id, url, as_json):
    """The lineage component of an entry (derivations: split-neuron, embedding, restriction, ...)."""
    G = _open(url).lineage(entry_id)
    if as_json:
        _echo_json({"nodes": [{"id": n, **d} for n, d in G.nodes(data=True)],
                    "edges": [{"parent": a, "child": b, "relation": d["relation"]} for a, b, d in G.edges(data=True)]})
        return
    click.echo(f"{G.number_of_nodes()} entries, {G.number_of_edges()} derivations")
    for a, b, d in sorted(G.edges(data=True)):
        click.echo(f"{a} --{d['relation']}--> {b}")


@catalog_group.command("link")
@click.argument("parent")
@click.argument("child")
@click.option("--relation", required=True)
@_common
def link_cmd(parent, child, relation, url, as_json):
    """Record that CHILD derives from PARENT."""
    _open(url).link(parent, child, relation)
    if as_json:
        _echo_json({"parent": parent, "child": child, "relation": relation})
    else:
        click.echo(f"{parent} --{relation}--> {child}")
