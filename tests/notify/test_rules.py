"""The pure rules: backoff, masking, rendering."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kesu.i18n import catalogue
from kesu.notify import rules

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def test_each_failed_attempt_waits_longer_until_the_last_gives_up():
    waits = [rules.retry_at(n, NOW) for n in range(1, rules.MAX_ATTEMPTS)]
    gaps = [w - NOW for w in waits]
    assert gaps == sorted(gaps) and len(set(gaps)) == len(gaps)
    assert rules.retry_at(rules.MAX_ATTEMPTS, NOW) is None


def test_a_permanent_failure_gives_up_at_once():
    assert rules.retry_at(1, NOW, permanent=True) is None


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "*******5678"),
        ("138 1234 5678", "*** **** 5678"),
        ("+86-138-1234-5678", "+**-***-****-5678"),
        ("0571-8888 1234", "****-**** 1234"),
        ("123", "123"),
    ],
)
def test_a_phone_number_shows_only_its_last_four_digits(phone, masked):
    assert rules.mask_phone(phone) == masked


def test_staff_see_masked_phones_unless_the_caller_reveals_them_and_robots_never_do():
    params = {"phone": "13812345678", "contact_phone": "13900001111", "title": "13812345678"}
    staff = rules.params_for("user", params)
    assert staff["phone"] == "*******5678" and staff["contact_phone"] == "*******1111"
    assert staff["title"] == "138****5678"  # in free text too, as the console shows it
    revealed = rules.params_for("user", {**params, rules.REVEAL_PHONE: True})
    assert revealed["phone"] == "13812345678"
    robot = rules.params_for("channel", {**params, rules.REVEAL_PHONE: True})
    assert robot["phone"] == "*******5678"
    assert rules.params_for("customer", params)["phone"] == "13812345678"


def test_a_template_renders_in_each_language_and_names_what_is_missing():
    params = {
        "number": "FS1",
        "title": "沙发",
        "level": "L2",
        "complainant": "林女士",
        "phone": "5678",
    }
    zh = rules.render(catalogue("zh_Hans"), "complaint_received", params)
    hant = rules.render(catalogue("zh_Hant"), "complaint_received", params)
    en = rules.render(catalogue("en"), "complaint_received", params)
    assert zh.subject == "新投诉 FS1：沙发"
    assert "投訴人" in hant.body and "New complaint FS1" in en.subject
    assert rules.missing_params(catalogue("en"), "complaint_received", {"number": "x"}) == {
        "title",
        "level",
        "complainant",
        "phone",
    }
    with pytest.raises(KeyError):
        rules.render(catalogue("en"), "no_such_template", {})


def test_an_email_address_is_found_in_a_free_text_contact():
    assert rules.email_in("微信 lin88，邮箱 lin.x@example.cn") == "lin.x@example.cn"
    assert rules.email_in("微信 lin88") is None
    assert rules.email_in(None) is None


def test_a_label_param_is_given_in_the_recipients_language_and_other_params_as_stored():
    level = {"zh_Hans": "二级（较严重投诉）", "zh_Hant": "二級（較嚴重投訴）", "en": "L2 (serious)"}
    params = {"number": "FS2026110001", "level": level, "extra": {"a": 1}}
    assert rules.localised(params, "zh_Hant") == {
        "number": "FS2026110001",
        "level": "二級（較嚴重投訴）",
        "extra": {"a": 1},
    }
    assert rules.localised(params, "en")["level"] == "L2 (serious)"
