"""The organisation tree kept per process: every process sees a unit added by any other, and a
unit added in a rolled-back unit of work is never seen (both databases)."""

from __future__ import annotations

from sqlalchemy import event

from kesu.db.session import make_engine, make_sessionmaker, reading, transaction
from kesu.org import service as org_service


def _site(session, clock, code: str, parent_id: int) -> int:
    return org_service.create(
        session, clock, kind="site", code=code, name=code, parent_id=parent_id
    ).id


def test_a_unit_added_by_another_process_is_seen(db_url, sessions, clock, org):
    # Two engines on one database stand for two worker processes (each has its own cache).
    with reading(sessions) as s:
        before = set(org_service.subtree_ids(s, org["EAST"]))
    other = make_engine(db_url)
    try:
        with transaction(make_sessionmaker(other)) as s:
            new = _site(s, clock, "SH-NEW", org["EAST"])
    finally:
        other.dispose()
    with reading(sessions) as s:
        assert set(org_service.subtree_ids(s, org["EAST"])) == before | {new}
        assert new in org_service.subtree_ids(s, org["HX"])
        assert org_service.group_of(s, new).id == org["HX"]
        assert org_service.ancestors(s, new) == [new, org["EAST"], org["HX"]]


def test_a_unit_added_in_this_unit_of_work_is_seen_at_once(sessions, clock, org):
    with transaction(sessions) as s:
        assert org_service.group_of(s, org["SH-NJ"]).id == org["HX"]
        new = _site(s, clock, "SH-NEW", org["EAST"])
        assert new in org_service.subtree_ids(s, org["EAST"])
        assert org_service.group_of(s, new).id == org["HX"]
    with reading(sessions) as s:
        assert new in org_service.subtree_ids(s, org["EAST"])


def test_a_rolled_back_unit_is_not_kept(db_url, sessions, clock, org):
    with sessions() as s, s.begin():
        ghost = _site(s, clock, "GHOST", org["EAST"])
        assert ghost in org_service.subtree_ids(s, org["EAST"])
        s.rollback()
    # SQLite hands the same id out again; added by another process, it must land where it
    # now belongs (this process's copy has the same max(id) and count as the ghost's would)
    other = make_engine(db_url)
    try:
        with transaction(make_sessionmaker(other)) as s:
            dept = org_service.create(
                s, clock, kind="department", code="NEWDEPT", name="新部门", parent_id=org["HX"]
            ).id
    finally:
        other.dispose()
    with reading(sessions) as s:
        assert org_service.ancestors(s, dept) == [dept, org["HX"]]
        assert ghost not in org_service.subtree_ids(s, org["EAST"]) or ghost == dept
        assert dept not in org_service.subtree_ids(s, org["EAST"])


def test_the_tree_is_read_once_per_unit_of_work(engine, sessions, org):
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with reading(sessions) as s:
        org_service.subtree_ids(s, org["HX"])  # fills this process's copy
    statements.clear()
    with reading(sessions) as s:
        for _ in range(5):
            org_service.subtree_ids(s, org["HX"])
            org_service.ancestors(s, org["SH-NJ"])
            org_service.group_of(s, org["SH-NJ"])
    tree_reads = [q for q in statements if "organisation" in q]
    # one version probe, and the group's own row (held for the unit of work)
    assert len(tree_reads) == 2, tree_reads
