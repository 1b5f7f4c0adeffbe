"""The complaint search (`GET /api/v1/complaints?q=`) finds exactly the complaints whose number,
title or description contains the words, through the character index of migration 0008, for
Chinese words of one, two and five characters, and after a description changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from tests.helpers import complaint_body, login

from kesu.complaint import queries
from kesu.complaint.models import Complaint
from kesu.db.session import transaction

TEXTS = [
    ("床垫塌陷", "购买的记忆棉床垫使用不到一个月明显塌陷，要求退货。"),
    ("沙发异味", "沙发有刺鼻异味，要求上门检测。"),
    ("送货延误", "约定周六送货，床架和床垫到周三才到。"),
    ("安装问题", "衣柜安装师傅迟到两小时，柜门不平。"),
    ("退款未到", "退货后十五天退款仍未到账，床头柜已寄回。"),
    ("Mattress", "The MATTRESS sags; 100% polyester_cover torn."),
]
WORDS = [
    "床",
    "垫",
    "床垫",
    "记忆棉床垫",
    "退货",
    "退货运费险",
    "柜",
    "门不平",
    "mattress",
    "%",
    "_",
]


@pytest.fixture
def cases(client, org):
    headers = login(client, "receiver1")
    ids = []
    for title, description in TEXTS:
        r = client.post(
            "/api/v1/complaints",
            json=complaint_body(org, title=title, description=description),
            headers=headers,
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def _found(client, headers, word: str) -> set[int]:
    ids, cursor = set(), None
    while True:
        params = {"q": word, "limit": 2, **({"cursor": cursor} if cursor else {})}
        r = client.get("/api/v1/complaints", params=params, headers=headers)
        assert r.status_code == 200, r.text
        ids |= {c["id"] for c in r.json()["items"]}
        cursor = r.json()["next_cursor"]
        if not cursor:
            return ids


def _expected(sessions, word: str, fold_case: bool = True) -> set[int]:
    """The substring semantics, letter case ignored on both databases."""
    with transaction(sessions) as s:
        rows = s.execute(
            select(Complaint.id, Complaint.number, Complaint.title, Complaint.description)
        ).all()

    def holds(text: str) -> bool:
        return word.lower() in text.lower() if fold_case else word in text

    return {r.id for r in rows if any(holds(t) for t in (r.number, r.title, r.description))}


@pytest.mark.parametrize("index_limit", [queries.CANDIDATES, 1])
def test_the_search_finds_exactly_the_complaints_holding_the_word(
    client, sessions, engine, cases, monkeypatch, index_limit
):
    monkeypatch.setattr(queries, "CANDIDATES", index_limit)  # 1: common words scan instead
    headers = login(client, "director")
    with transaction(sessions) as s:
        number = s.get(Complaint, cases[2]).number
    for word in [*WORDS, number, number.lower(), number[-4:], "Mattress", "mATTRESS s"]:
        assert _found(client, headers, word) == _expected(sessions, word), word
    assert _found(client, headers, "mattress") == {cases[5]}  # PostgreSQL found none
    assert _found(client, headers, number.lower()) == {cases[2]}
    assert _found(client, headers, "床垫") == {cases[0], cases[2]}
    assert _found(client, headers, "记忆棉床垫") == {cases[0]}
    assert _found(client, headers, "退货运费险") == set()


def test_the_search_follows_a_changed_description(client, sessions, engine, cases):
    headers = login(client, "director")
    with transaction(sessions) as s:
        s.execute(
            update(Complaint)
            .where(Complaint.id == cases[1])
            .values(description="沙发换成了乳胶床垫，仍有异味。")
        )
        s.execute(
            update(Complaint).where(Complaint.id == cases[0]).values(description="已协商换货。")
        )
    for word in ["床", "床垫", "乳胶床垫", "记忆棉床垫", "塌陷", "异味"]:
        assert _found(client, headers, word) == _expected(sessions, word), word
    assert _found(client, headers, "乳胶床垫") == {cases[1]}
    assert _found(client, headers, "记忆棉床垫") == set()
    assert _found(client, headers, "退货") == {cases[4]}
    assert _found(client, headers, "塌陷") == {cases[0]}  # still in its title


def test_a_number_read_back_with_spaces_finds_its_complaint(client, sessions, cases):
    headers = login(client, "receiver1")
    with transaction(sessions) as s:
        number = s.get(Complaint, cases[2]).number
    read_out = f"{number[:2]} {number[2:6]} {number[6:8]} {number[8:]}"  # as on the received page
    assert _found(client, headers, read_out) == {cases[2]}
    assert _found(client, headers, f"{number[2:6]} {number[6:]}") == {cases[2]}
    assert _found(client, headers, "The MATTRESS") == {cases[5]}  # words keep their spaces
