"""Personal data out of case texts (pure): what stays in the case library is the matter, not
the person — phone numbers, ID and card numbers, e-mail addresses and the complainant's name
are replaced before a case is shown or exported."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "＊＊＊"
PERSON = "某"
_PATTERNS = (
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),  # e-mail
    re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),  # resident ID (18)
    re.compile(r"(?<!\d)\d{15,19}(?!\d)"),  # old ID, bank card
    re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)"),  # mobile
    re.compile(r"(?<!\d)0\d{2,3}[\s-]?\d{3,4}[\s-]?\d{4}(?!\d)"),  # landline with area code
    re.compile(r"(?<!\d)\d{7,8}(?!\d)"),  # local landline
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩邓冯曹彭曾肖萧田董潘袁蔡蒋余于杜叶程"
    "魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付傅方邹熊白孟秦邱侯江尹薛闫阎段雷龙黎史陶贺毛郝"
    "顾龚邵万覃武钱戴严欧莫孔向常汤康易乔赖文施洪辛柯庄葛殷齐俞祝聂章鲁"
    "劉陳楊黃趙吳孫馬鄭謝許韓鄧馮蕭葉蘇呂盧鍾譚陸賈鄒賀顧龔萬錢嚴歐莊聶喬湯"
)
"""Common Chinese surnames (simplified and traditional): only these before a title are taken
for a person, so 安装师傅 or 门店经理 stay as they are while 张女士 becomes 某女士."""
_TITLED = re.compile(f"([{SURNAMES}])(?=(先生|女士|小姐|阿姨|师傅|老师|经理))")


def redact(text: str | None, names: Iterable[str] = ()) -> str:
    """The text with contact numbers and addresses masked, the given names and any surname
    before 先生/女士/… replaced by 某 (林女士 → 某女士)."""
    if not text:
        return ""
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, PERSON * min(len(name), 2))
    return _TITLED.sub(PERSON, text)


def terms(query: str) -> list[str]:
    """Search words: split on spaces (全角 too), duplicates dropped, at most 8."""
    out: list[str] = []
    for word in re.split(r"[\s\u3000]+", query.strip()):
        if word and word not in out:
            out.append(word[:50])
    return out[:8]
