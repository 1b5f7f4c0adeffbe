"""A stored pack version is parsed once per process and database (both databases)."""

from __future__ import annotations

from sqlalchemy import event, select

from kesu.db.session import reading
from kesu.policy import loader
from kesu.policy import service as policy_service
from kesu.policy.models import PolicyVersion


def test_a_stored_pack_is_read_once_and_is_what_its_text_says(engine, sessions):
    with reading(sessions) as s:
        rows = s.execute(select(PolicyVersion.id, PolicyVersion.source)).all()
        first = {vid: policy_service.pack_of(s, vid) for vid, _ in rows}
    assert rows
    for vid, source in rows:
        assert first[vid] == loader.parse_pack(source)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with reading(sessions) as s:
        again = {vid: policy_service.pack_of(s, vid) for vid, _ in rows}
    assert again == first
    assert not [q for q in statements if "policy_version" in q]


def test_the_current_version_is_looked_up_once_per_unit_of_work(engine, sessions):
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with reading(sessions) as s:
        key = s.scalar(select(PolicyVersion.key).limit(1))
        rows = [policy_service.current(s, key) for _ in range(3)]
    assert rows[0] is rows[1] is rows[2]
    assert len([q for q in statements if "policy_version" in q]) == 2  # the key, then current
