"""A messy 客户投诉登记表 like the ones kept in Excel: a banner merged across the top, a
two-level header with merged cells, blank rows, dates typed as text or stored as Excel serial
numbers, phone numbers with spaces and dashes, and some rows that are plainly wrong.

`ledger(rows)` returns (xlsx bytes, {sheet row number: (column letter, rule)} of the bad rows).
"""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta

from openpyxl import Workbook

HEADER_TOP = ["编号", "投诉日期", "投诉人", None, "门店", "类别", "级别", "渠道", "投诉内容",
              "处理结果", "状态", "结案日期", "满意度", "补偿金额"]  # fmt: skip
HEADER_LOW = [None, None, "姓名", "联系电话", None, None, None, None, None, None, None, None,
              None, None]  # fmt: skip
SITES = ["上海南京路店", "杭州西湖店", "SH-NJ", "南京新街口店", "广州天河店", "深圳福田店"]
CATEGORIES = ["产品质量", "维修", "门店服务态度", "到货数量", "运输问题", "product_quality"]
LEVELS = ["一级（普通投诉）", "L1", "L2", "二级（较严重投诉）"]
CHANNELS = ["电话", "现场", "微信", "phone", "网络平台"]
BAD = ["date", "category", "name", "phone", "before"]


def _date_cell(rng: random.Random, at: datetime):
    kind = rng.randrange(5)
    if kind == 0:
        return at  # a real date cell
    if kind == 1:
        return (at - datetime(1899, 12, 30)).days  # an Excel serial number
    if kind == 2:
        return f"{at:%Y/%m/%d} {at:%H:%M}"
    if kind == 3:
        return f"{at.year}年{at.month}月{at.day}日"
    return f"{at:%Y-%m-%d}"


def _phone(rng: random.Random):
    digits = "13" + "".join(rng.choice("0123456789") for _ in range(9))
    kind = rng.randrange(3)
    if kind == 0:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if kind == 1:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return int(digits)


def ledger(rows: int = 5000, seed: int = 11) -> tuple[bytes, dict[int, tuple[str, str]]]:
    rng = random.Random(seed)
    wb = Workbook()
    ws = wb.active
    ws.append(["华夏家居集团客户投诉登记表（2025年度）"] + [None] * 13)
    ws.merge_cells("A1:N1")
    ws.append([])
    ws.append(HEADER_TOP)
    ws.append(HEADER_LOW)
    ws.merge_cells("C3:D3")
    for col in "ABEFGHIJKLMN":
        ws.merge_cells(f"{col}3:{col}4")
    bad: dict[int, tuple[str, str]] = {}
    start = datetime(2025, 1, 1, 9, 0)
    written, line = 0, 4  # line: the sheet row last written
    while written < rows:
        line += 1
        if rng.random() < 0.02:
            ws.append([])  # a blank line somebody left
            continue
        written += 1
        at = start + timedelta(minutes=rng.randint(0, 360 * 24 * 60))
        at = at.replace(second=0)
        closed = rng.random() < 0.8
        closed_at = at + timedelta(days=rng.randint(0, 12), hours=rng.randint(1, 8))
        row = [
            f"KS{written:05d}",
            _date_cell(rng, at),
            rng.choice("王李张刘陈杨黄赵") + rng.choice(["先生", "女士", "伟", "芳"]),
            _phone(rng),
            rng.choice(SITES),
            rng.choice(CATEGORIES),
            rng.choice(LEVELS),
            rng.choice(CHANNELS),
            f"第{written}号投诉：沙发坐垫塌陷，要求上门检测",
            "已上门更换坐垫" if closed else None,
            "已结" if closed else "未结",
            _date_cell(rng, closed_at) if closed else None,
            rng.choice([1, 2, 2, 3, "满意"]) if closed else None,
            rng.choice([None, 0, 50, "100元", "1,200.00"]),
        ]
        number = line
        if rng.random() < 0.03:
            fault = rng.choice(BAD)
            if fault == "date":
                row[1], bad[number] = "2025-13-45", ("B", "date")
            elif fault == "category":
                row[5], bad[number] = "外星人入侵", ("F", "unknown")
            elif fault == "name":
                row[2], bad[number] = None, ("C", "missing")
            elif fault == "phone":
                row[3], bad[number] = "12ab", ("D", "phone")
            elif closed:
                row[11], bad[number] = (
                    f"{at - timedelta(days=3):%Y-%m-%d}",
                    ("L", "before_received"),
                )
            else:
                row[1], bad[number] = "昨天", ("B", "date")
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), bad
