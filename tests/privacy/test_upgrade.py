"""Upgrading a database that already holds complainants seals their personal data."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from kesu.complaint.models import Complainant
from kesu.complaint.service import find_complainant
from kesu.db import migrate
from kesu.db.session import make_engine, make_sessionmaker, reading


def test_personal_data_stored_before_the_security_revision_is_sealed_by_it(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0004")
    now = datetime(2025, 6, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organisation (id, kind, code, name, pack_key, timezone, created_at) "
                "VALUES (1, 'group', 'HX', '华夏', 'default', 'Asia/Shanghai', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO complainant (id, org_id, name, phone, address, created_at) "
                "VALUES (1, 1, '林女士', '13812345678', '上海市黄浦区南京东路100号', :now)"
            ),
            {"now": now},
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        phone, address = conn.execute(text("SELECT phone, address FROM complainant")).one()
    assert phone.startswith("v1.") and "13812345678" not in phone
    assert "南京东路" not in address
    with reading(make_sessionmaker(engine)) as s:
        person = s.get(Complainant, 1)
        assert (person.phone, person.address) == ("13812345678", "上海市黄浦区南京东路100号")
        assert find_complainant(s, 1, "138 1234 5678").id == 1
    engine.dispose()
