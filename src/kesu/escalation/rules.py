"""Pure escalation rules: emergency categories, keywords, repeat complaints, response rounds,
and who gets an unowned complaint. No database: callers pass what the rules read."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kesu.policy.schema import Pack


def top_level(pack: Pack) -> str:
    return pack.levels[-1].key


def is_higher(pack: Pack, level: str, than: str) -> bool:
    return pack.level_index(level) > pack.level_index(than)


def emergency_categories(pack: Pack) -> set[str]:
    """The pack's emergency categories and every category under them."""
    out: set[str] = set()
    stack = [c for c in pack.category_list() if c.key in pack.escalation.emergency_categories]
    while stack:
        category = stack.pop()
        out.add(category.key)
        stack.extend(category.children)
    return out


# Traditional → Simplified for the characters of urgent words (the built-in packs' keywords and
# the words a complaint manager adds: 投訴, 記者, 電視臺, 律師, 法院, 舉報, 賠償, 醫院, 燒傷 …),
# pairs written "繁简". Customers write in either script (seeds 002 and 003 are Traditional).
_PAIRS = (
    "體体 訴诉 傷伤 視视 報报 門门 鬧闹 圍围 竊窃 羣群 記记 電电 臺台 紙纸 網网 絡络 師师 "
    "監监 舉举 質质 檢检 賠赔 償偿 醫医 燒烧 過过 災灾 觸触 詐诈 騙骗 貨货 維维 權权 頭头 "
    "條条 輿舆 論论 衛卫 變变 殘残 兒儿 婦妇 暈晕 燙烫 擁拥 擠挤 眾众 協协 會会 費费 機机 "
    "關关 長长 問问 題题 處处 應应 該该 對对 設设 務务 態态 錢钱 還还 東东 廳厅 單单 號号 "
    "買买 賣卖 價价 車车 傳传 發发 帳账 賬账 險险 嚴严 損损 壞坏 憤愤 氣气 罵骂 擊击 動动 "
    "禍祸 亂乱 難难 訟讼 狀状 毆殴 藥药 斃毙 級级 導导 領领 開开 屬属 實实 據据 證证 驗验 "
    "調调 時时 間间 緊紧 療疗 診诊 護护 聞闻 頻频 話话 說说 訊讯 詢询 認认 識识 為为 與与 "
    "們们 這这 個个 來来 見见 現现 經经 給给 錯错 誤误 熱热 點点 銷销 額额 騷骚 擾扰 蟲虫 "
    "黴霉 敗败 歲岁 靈灵 無无 罰罚 違违 規规 厭厌 鬥斗 劃划 屍尸 惡恶 團团 隊队"
)
_TO_SIMPLIFIED = str.maketrans({pair[0]: pair[1] for pair in _PAIRS.split()})


def folded(text: str) -> str:
    """Text as urgent keywords are compared: full-width letters and digits as ASCII (１２３１５),
    letters case-folded, the Traditional characters of urgent words as Simplified."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_TO_SIMPLIFIED)


def keyword_hits(pack: Pack, texts: Iterable[str | None]) -> list[str]:
    """The pack's urgent keywords (12315, 媒体, 受伤 …) found in any of the texts, in either
    script and either width: 媒體, 起訴, 受傷 and １２３１５ match 媒体, 起诉, 受伤 and 12315. Each
    word once, as the pack spells it first."""
    joined = folded("\n".join(t for t in texts if t))
    hits: dict[str, str] = {}
    for keyword in pack.urgent_keywords:
        key = folded(keyword)
        if key and key in joined:
            hits.setdefault(key, keyword)
    return list(hits.values())


def responsible(who: str, *, assignee_id: int | None, received_by_id: int | None) -> int | None:
    """The person a pack's `assignee` or `receiver` names on a complaint.

    `assignee`: the handler, else whoever registered it. `receiver`: whoever registered it
    (受理人), else the handler: a complaint that came in by itself (the portal, an e-mail)
    was registered by nobody, and the staff member it was given to answers for what the
    receiver must do (seed 002 5.1.1: contact within one working day, 30 yuan if not)."""
    if who == "receiver":
        return received_by_id or assignee_id
    return assignee_id or received_by_id


def matter_of(fields: Iterable[str], complaint: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What makes two complaints "the same matter" under the pack's repeat rule; None when a
    compared field is empty (an unknown matter is never a repeat)."""
    values = tuple(complaint.get(f) for f in fields)
    return None if any(v in (None, "") for v in values) else values


def rounds_exceeded(pack: Pack, level: str, round_: int) -> bool:
    """Would response round `round_` be more rounds (对应次数) than the pack allows here?"""
    rule = pack.response_rounds
    if rule is None:
        return False
    limit = rule.max_for(level)
    return limit is not None and round_ > limit


@dataclass(frozen=True)
class Candidate:
    """A staff member who could handle a complaint."""

    user_id: int
    tier_rank: int
    department_id: int | None
    open_cases: int


def pick_handler(
    candidates: Iterable[Candidate],
    *,
    needed_rank: int,
    department_id: int | None,
    recused_id: int | None,
    preferred_id: int | None = None,
) -> int | None:
    """The handler for an unowned complaint, or None.

    Never the person complained about (回避). The staff member acting now keeps it when their
    tier suffices; otherwise the lowest sufficient tier, the complaint's own department first,
    then the fewest open cases, then the longest-serving (lowest id).
    """
    eligible = [c for c in candidates if c.tier_rank >= needed_rank and c.user_id != recused_id]
    if not eligible:
        return None
    if preferred_id is not None and any(c.user_id == preferred_id for c in eligible):
        return preferred_id
    best = min(
        eligible,
        key=lambda c: (
            c.tier_rank,
            department_id is None or c.department_id != department_id,
            c.open_cases,
            c.user_id,
        ),
    )
    return best.user_id
