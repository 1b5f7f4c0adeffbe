"""Masking rules (pure): what a viewer without the permission sees."""

from __future__ import annotations

from datetime import UTC, datetime

from kesu.privacy import rules


def test_a_mobile_number_keeps_its_first_three_and_last_four_digits():
    assert rules.mask_phone("13812345678") == "138****5678"
    assert rules.mask_phone("+86 138 1234 5678") == "138****5678"
    assert rules.mask_phone("021-62345678") == "021****5678"
    assert rules.mask_phone("6234567") == "62****67"
    assert rules.mask_phone("12345") == "****"
    assert rules.mask_phone(None) is None


def test_an_address_keeps_only_its_province_and_city():
    assert rules.mask_address("上海市黄浦区南京东路100号3楼") == "上海市黄浦区****"
    assert rules.mask_address("北京") == "****"


def test_an_id_number_and_an_e_mail_are_masked():
    assert rules.mask_id("310101199001011234") == "310****1234"
    assert rules.mask_contact("linxiaojie@example.com") == "l****@example.com"
    assert rules.mask_contact("wx_lin88") == "w****8"
    # the portal's preferred way ahead of the address: the label stays, the address is masked
    assert rules.mask_contact("电子邮件 · lam@example.com") == "电子邮件 · l****@example.com"
    assert rules.mask_contact("微信 · wx_lin88") == "微信 · w****8"


def test_numbers_inside_free_text_are_masked_and_the_rest_is_left_alone():
    text = "客户林女士（电话 138 1234 5678，座机 021-62345678，身份证310101199001011234）称沙发塌陷"
    masked = rules.mask_text(text)
    assert "1234 5678" not in masked and "62345678" not in masked and "19900101" not in masked
    assert masked.startswith("客户林女士（电话 138****5678")
    assert "沙发塌陷" in masked
    assert rules.mask_text("订单 SO123456，编号 FS2026110001") == "订单 SO123456，编号 FS2026110001"


def test_masking_reaches_every_string_in_an_event_payload():
    payload = {"summary": "已致电13812345678", "steps": ["回拨 13912345678"], "reached": True}
    assert rules.mask_value(payload) == {
        "summary": "已致电138****5678",
        "steps": ["回拨 139****5678"],
        "reached": True,
    }


def test_retention_counts_whole_years_and_a_leap_day_falls_back_to_the_28th():
    now = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    assert rules.retention_cutoff(now, 3) == datetime(2025, 2, 28, 12, 0, tzinfo=UTC)
    assert rules.retention_cutoff(now, 4) == datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
