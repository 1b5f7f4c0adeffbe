"""The pure authorisation rule and the account rules, without a database."""

from __future__ import annotations

import pytest

from kesu.access import rules
from kesu.access.rules import ComplaintView, Principal, can, require
from kesu.errors import Forbidden
from kesu.policy import loader

PACK = loader.parse_cached(loader.builtin_source("franchise-sales-center"))
GROUP, EAST, SHNJ, HZXH, SOUTH, GZTH, CS = 1, 10, 11, 12, 20, 21, 2
EAST_SCOPE = frozenset({EAST, SHNJ, HZXH})
GROUP_IDS = frozenset({GROUP, EAST, SHNJ, HZXH, SOUTH, GZTH, CS})
CASE = ComplaintView(org_id=GROUP, site_id=SHNJ, department_id=CS, staff_complained_id=7)


def person(role="receiver", scope=None, user_id=1, token="full", active=True, group=GROUP):
    return Principal(
        user_id=user_id,
        role=PACK.role(role),
        group_id=group,
        scope_ids=scope,
        token_scope=token,
        active=active,
        group_ids=GROUP_IDS if group == GROUP else frozenset({group}),
    )


def test_head_office_a_region_and_a_store_see_the_store_s_complaint():
    assert can(person(), "view", CASE)
    assert can(person(scope=EAST_SCOPE), "view", CASE)
    assert can(person(scope=frozenset({SHNJ})), "view", CASE)


def test_another_region_another_store_and_another_group_do_not():
    assert not can(person(scope=frozenset({SOUTH, GZTH})), "view", CASE)
    assert not can(person(scope=frozenset({HZXH})), "view", CASE)
    assert not can(person(group=99), "view", CASE)


def test_a_complaint_routed_to_a_department_is_seen_by_that_department_s_node():
    assert can(person(scope=frozenset({CS})), "view", ComplaintView(org_id=GROUP, department_id=CS))


def test_the_person_complained_about_sees_nothing_of_it_whatever_their_role():
    for role in ("receiver", "director", "admin"):
        with pytest.raises(Forbidden) as exc:
            require(person(role=role, user_id=7), "view", CASE)
        assert exc.value.key == "forbidden.recused"


def test_a_deactivated_user_may_do_nothing():
    assert not can(person(active=False), "view", CASE)
    assert not can(person(role="admin", active=False), "admin")


def test_personal_data_is_unmasked_only_for_the_handler_or_the_one_who_registered_it():
    mine = ComplaintView(org_id=GROUP, site_id=SHNJ, assignee_id=1)
    registered = ComplaintView(org_id=GROUP, site_id=SHNJ, received_by_id=1)
    assert can(person(), "unmask", mine)
    assert can(person(), "unmask", registered)
    assert not can(person(), "unmask", CASE)
    assert not can(person(role="director"), "unmask", CASE)  # the pack says `assigned`


def test_a_role_declared_all_sees_personal_data_of_every_complaint_it_can_see():
    role = PACK.role("director").model_copy(update={"personal_data": "all"})
    p = Principal(user_id=1, role=role, group_id=GROUP, scope_ids=None)
    assert can(p, "unmask", CASE)
    none = PACK.role("receiver").model_copy(update={"personal_data": "none"})
    p = Principal(user_id=1, role=none, group_id=GROUP, scope_ids=None)
    assert not can(p, "unmask", ComplaintView(org_id=GROUP, assignee_id=1))


def test_token_scopes_read_intake_full():
    read, intake = person(token="read"), person(token="intake")
    assert can(read, "view", CASE) and not can(read, "receive", CASE)
    assert can(intake, "receive", CASE) and not can(intake, "command", CASE)
    assert not can(person(role="admin", token="intake"), "admin")
    assert not can(person(token="read"), "account")
    with pytest.raises(Forbidden) as exc:
        require(read, "command", CASE)
    assert exc.value.key == "forbidden.token_scope"


def test_only_admin_roles_administer_and_only_within_their_node():
    assert not can(person(role="director"), "admin")
    region_admin = person(role="admin", scope=EAST_SCOPE)
    assert can(region_admin, "admin", SHNJ)
    assert not can(region_admin, "admin", GZTH)
    assert not can(region_admin, "admin", GROUP)
    assert can(person(role="admin"), "admin", GZTH)
    assert not can(person(role="admin"), "admin", 99)  # another group's organisation


def test_registering_needs_the_receive_command_and_a_store_in_scope():
    assert can(person(role="receiver", scope=frozenset({SHNJ})), "receive", CASE)
    assert not can(person(role="archivist"), "receive", CASE)
    assert not can(person(role="receiver", scope=frozenset({GZTH})), "receive", CASE)


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        can(person(), "peek", CASE)


def test_lockout_waits_double_with_each_failure_past_the_limit_up_to_an_hour():
    limit = rules.LOGIN_PER_USER
    waits = [rules.lock_seconds(limit, n) for n in range(1, 14)]
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:9] == [60, 120, 240, 480, 960]
    assert waits[-1] == 3600


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "invalid.password_short"),
        ("wangxiaoli", "invalid.password_guessable"),  # the username
        ("12345678", "invalid.password_guessable"),
        ("aaaaaaaaaaaa", "invalid.password_guessable"),
        ("x" * 201, "invalid.password_long"),
        ("correct horse battery", None),
    ],
)
def test_a_new_password_is_refused_when_short_long_or_guessable(password, problem):
    assert rules.password_problem(password, "wangxiaoli") == problem
