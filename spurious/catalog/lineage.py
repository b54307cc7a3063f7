"""Lineage: how catalog entries derive from each other, stored as edges and read as a networkx DiGraph.

An edge parent -> child says the child was obtained from the parent by ``relation``: ``split-neuron`` (a unit
duplicated with its outgoing weight split, e.g. Safran and Shamir style embeddings of a narrow minimum into a wider
network), ``embedding`` (units added in another way), ``restriction`` (fewer units or samples), ``symmetry-image``
(a discrete symmetry not identified by the canonical form, e.g. a sign flip of a tanh unit) or ``derived``.
"""

from __future__ import annotations

import networkx as nx
from sqlalchemy import select

from ..errors import InputError

__all__ = ["RELATIONS", "check_relation", "insert_edge", "component"]

RELATIONS = ("split-neuron", "embedding", "restriction", "symmetry-image", "derived")


def check_relation(relation) -> None:
    if relation not in RELATIONS:
        raise InputError(f"lineage relation {relation!r} is unknown; known: {', '.join(RELATIONS)}")


def insert_edge(conn, table, parent, child, relation) -> None:
    """Add one edge (idempotent) inside the caller's transaction."""
    if parent == child:
        raise InputError(f"lineage: an entry cannot derive from itself ({parent})")
    exists = conn.execute(select(table.c.parent_id).where(
        (table.c.parent_id == parent) & (table.c.child_id == child) & (table.c.relation == relation))).first()
    if not exists:
        conn.execute(table.insert().values(parent_id=parent, child_id=child, relation=relation))


def component(conn, entries, table, entry_id) -> nx.DiGraph:
    """The weakly connected lineage component of ``entry_id`` (breadth-first over parents and children)."""
    G = nx.DiGraph()
    G.add_node(entry_id)
    frontier = {entry_id}
    while frontier:
        ids = list(frontier)
        rows = conn.execute(select(table).where(table.c.parent_id.in_(ids) | table.c.child_id.in_(ids)))
        new = set()
        for parent, child, relation in rows:
            for node in (parent, child):
                if node not in G:
                    new.add(node)
            G.add_edge(parent, child, relation=relation)
        G.add_nodes_from(new)
        frontier = new
    info = conn.execute(select(entries.c.id, entries.c.family, entries.c.widths, entries.c.verdict,
                               entries.c.activation).where(entries.c.id.in_(list(G.nodes)))).all()
    for node_id, family, widths, verdict, activation in info:
        G.nodes[node_id].update(family=family, widths=widths, verdict=verdict, activation=activation)
    return G
