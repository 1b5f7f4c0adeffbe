"""The policy pack model (制度): what one organisation's complaint procedure declares.

A pack is data. The engine (`kesu.complaint.lifecycle`) reads it; nothing about a
particular organisation lives in code. Labels are {zh_Hans, zh_Hant, en} mappings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kesu.complaint.commands import COMMANDS

Key = str
Label = dict[Literal["zh_Hans", "zh_Hant", "en"], str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Named(_Strict):
    key: Key = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$", max_length=40)
    name: Label

    @field_validator("name")
    @classmethod
    def _has_chinese_name(cls, v: Label) -> Label:
        if "zh_Hans" not in v:
            raise ValueError("name needs at least a zh_Hans text")
        return v


class Tier(Named):
    """Handler tier (处理人员等级), lowest first in the pack's list."""


class Role(Named):
    tier: Key | None = None
    admin: bool = Field(False, description="may manage users, tokens and organisations")
    commands: list[str] = Field(default_factory=list, description="commands this role may issue")

    @field_validator("commands")
    @classmethod
    def _known_commands(cls, v: list[str]) -> list[str]:
        unknown = [c for c in v if c not in ("*", "receive") and c not in COMMANDS]
        if unknown:
            known = ["receive", *sorted(COMMANDS)]
            raise ValueError(f"unknown command(s) {unknown}; known: {known}")
        return v

    def may(self, command: str) -> bool:
        return "*" in self.commands or command in self.commands


class ReviewStep(_Strict):
    """One signature on the review chain: a role, or anyone of at least a tier."""

    role: Key | None = None
    tier: Key | None = None
    name: Label | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ReviewStep:
        if (self.role is None) == (self.tier is None):
            raise ValueError("a review step names exactly one of role or tier")
        return self


class Level(Named):
    """Severity level (投诉级别), lowest first."""

    handler_tier: Key
    review_chain: list[ReviewStep] = Field(default_factory=list)
    closer_roles: list[Key] = Field(min_length=1)
    description: Label | None = None


class Category(Named):
    children: list[Category] = Field(default_factory=list)


class SatisfactionGrade(_Strict):
    value: int
    name: Label
    outcome: Literal["accept", "escalate"]


class AuthorityBand(_Strict):
    """Row of the 权限核决表: a solution up to this amount may be approved by this tier."""

    up_to: Decimal | None
    tier: Key


class Numbering(_Strict):
    pattern: str = Field(description="tokens: {yyyy} {yy} {mm} {dd} {seq:N}")
    reset: Literal["year", "month", "day", "never"]

    @field_validator("pattern")
    @classmethod
    def _has_seq(cls, v: str) -> str:
        from kesu.complaint.numbering import check_pattern

        check_pattern(v)
        return v


class Pack(_Strict):
    key: Key = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    version: int = Field(ge=1)
    name: Label
    source: str = Field(description="the seed or regulation this pack models")
    timezone: str = "Asia/Shanghai"
    numbering: Numbering
    tiers: list[Tier] = Field(min_length=1)
    roles: list[Role] = Field(min_length=1)
    levels: list[Level] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    channels: list[Named] = Field(min_length=1)
    complainant_types: list[Named] = Field(min_length=1)
    demands: list[Named] = Field(min_length=1)
    solution_types: list[Named] = Field(min_length=1)
    root_cause_dimensions: list[Named] = Field(min_length=1)
    satisfaction: list[SatisfactionGrade] = Field(min_length=2)
    authority: list[AuthorityBand] = Field(min_length=1)
    urgent_keywords: list[str] = Field(
        default_factory=list, description="text that sends a complaint to the top level at once"
    )

    @model_validator(mode="after")
    def _references_resolve(self) -> Pack:
        tiers = {t.key for t in self.tiers}
        roles = {r.key for r in self.roles}
        for name, items in (
            ("tiers", self.tiers),
            ("roles", self.roles),
            ("levels", self.levels),
            ("channels", self.channels),
            ("complainant_types", self.complainant_types),
            ("demands", self.demands),
            ("solution_types", self.solution_types),
            ("root_cause_dimensions", self.root_cause_dimensions),
        ):
            keys = [i.key for i in items]
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            if dupes:
                raise ValueError(f"{name}: duplicate key(s) {dupes}")
        cat_keys = [c.key for c in self.category_list()]
        if len(cat_keys) != len(set(cat_keys)):
            raise ValueError("categories: duplicate key(s)")
        for r in self.roles:
            if r.tier is not None and r.tier not in tiers:
                raise ValueError(f"roles.{r.key}.tier: unknown tier {r.tier!r}")
        for lv in self.levels:
            if lv.handler_tier not in tiers:
                raise ValueError(f"levels.{lv.key}.handler_tier: unknown tier {lv.handler_tier!r}")
            for step in lv.review_chain:
                if step.role and step.role not in roles:
                    raise ValueError(f"levels.{lv.key}.review_chain: unknown role {step.role!r}")
                if step.tier and step.tier not in tiers:
                    raise ValueError(f"levels.{lv.key}.review_chain: unknown tier {step.tier!r}")
            for closer in lv.closer_roles:
                if closer not in roles:
                    raise ValueError(f"levels.{lv.key}.closer_roles: unknown role {closer!r}")
        values = [g.value for g in self.satisfaction]
        if len(values) != len(set(values)):
            raise ValueError("satisfaction: duplicate value")
        if not any(g.outcome == "accept" for g in self.satisfaction):
            raise ValueError("satisfaction: at least one grade must accept (close) the case")
        for band in self.authority:
            if band.tier not in tiers:
                raise ValueError(f"authority: unknown tier {band.tier!r}")
        if self.authority[-1].up_to is not None:
            raise ValueError("authority: the last band must have up_to: null (no limit)")
        return self

    # --- lookups used by the engine -------------------------------------------------
    def tier_rank(self, tier: Key | None) -> int:
        """0 for no tier, 1 for the lowest declared tier, and so on."""
        for i, t in enumerate(self.tiers, start=1):
            if t.key == tier:
                return i
        return 0

    def role(self, key: Key | None) -> Role | None:
        return next((r for r in self.roles if r.key == key), None)

    def level(self, key: Key) -> Level | None:
        return next((lv for lv in self.levels if lv.key == key), None)

    def level_index(self, key: Key) -> int:
        return [lv.key for lv in self.levels].index(key)

    def category_list(self) -> list[Category]:
        out: list[Category] = []
        stack = list(reversed(self.categories))
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(reversed(c.children))
        return out

    def grade(self, value: int) -> SatisfactionGrade | None:
        return next((g for g in self.satisfaction if g.value == value), None)

    def approval_tier(self, amount: Decimal) -> Key:
        """The lowest tier whose authority covers `amount`."""
        for band in self.authority:
            if band.up_to is None or amount <= band.up_to:
                return band.tier
        return self.authority[-1].tier

    def keys(self, name: str) -> set[str]:
        if name == "categories":
            return {c.key for c in self.category_list()}
        return {i.key for i in getattr(self, name)}
