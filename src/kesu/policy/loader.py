"""Read a pack file: YAML → `Pack`, with errors that name the file, line, path and rule."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kesu.errors import NotFound, PolicyError
from kesu.i18n import LOCALES, catalogue, pick, rule_params, translate
from kesu.policy.schema import Pack, PackRule, PackRules


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack file: where (file, line, path in the pack) and the rule,
    a catalogue key with its parameters where Kesu has one (`said` in any language), else
    as the YAML parser or Pydantic wrote it (`rule`)."""

    file: str
    line: int | None
    path: str
    rule: str
    key: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def said(self, locale: str) -> str:
        if self.key is None:
            return self.rule
        params = rule_params({k: pick(v, locale) for k, v in self.params.items()}, locale)
        return translate(self.key, locale, **params)

    def line_in(self, locale: str) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(pack)'}: {self.said(locale)}"

    def __str__(self) -> str:
        return self.line_in("en")


class PackInvalid(PolicyError):
    def __init__(self, problems: list[Problem]) -> None:
        details = {loc: "; ".join(p.line_in(loc) for p in problems) for loc in LOCALES}
        super().__init__("policy.invalid", details=details)
        self.problems = problems


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Follow a Pydantic error location through the YAML node tree to a line number."""
    line = node.start_mark.line + 1 if node else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            match = node.value[part] if part < len(node.value) else None
        elif isinstance(node, yaml.SequenceNode):  # an item named by its key: levels.L2
            match = next((item for item in node.value if _key_of(item) == str(part)), None)
            if match is None and str(part).isdigit() and int(part) < len(node.value):
                match = node.value[int(part)]
        else:
            match = None
        if match is None:
            break
        node, line = match, match.start_mark.line + 1
    return line


def _key_of(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.MappingNode):
        return next((v.value for k, v in node.value if k.value == "key"), None)
    return None


def _problems(filename: str, node: yaml.Node, err: dict[str, Any]) -> list[Problem]:
    """The problems of one Pydantic error. A check across the whole pack (an unknown tier, a
    duplicate key) has no location of its own but names the place it is about
    ("levels.L1.handler_tier"): that place becomes the path, so the line is the item's, not the
    pack's first; such a check reports every problem it found."""
    raised = (err.get("ctx") or {}).get("error")
    if isinstance(raised, PackRules | PackRule):
        found = raised.rules if isinstance(raised, PackRules) else [raised]
        out = []
        for rule in found:
            loc = tuple(rule.at.split(".")) if rule.at else err["loc"]
            path = ".".join(str(p) for p in loc)
            out.append(
                Problem(filename, _line_of(node, loc), path, str(rule), rule.key, rule.params)
            )
        return out
    loc, path = err["loc"], ".".join(str(p) for p in err["loc"])
    key = f"rule.{err['type']}"
    if key not in catalogue("en"):  # Pydantic's own words; its "Value error, " says nothing
        return [
            Problem(filename, _line_of(node, loc), path, err["msg"].removeprefix("Value error, "))
        ]
    params = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
    return [
        Problem(filename, _line_of(node, loc), path, translate(key, "en", **params), key, params)
    ]


def _said(filename: str, line: int | None, name: str, **params: Any) -> Problem:
    """A problem of the whole file (not YAML, not a mapping, not UTF-8), in every language."""
    key = f"policy.rule.{name}"
    return Problem(filename, line, "", translate(key, "en", **params), key, params)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (ten times faster), else the pure one."""


def parse_pack(text: str, filename: str = "<pack>") -> Pack:
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        # PyYAML's own words (English), without its position: the line is already named
        said = " ".join(
            str(part)
            for part in (getattr(exc, "context", None), getattr(exc, "problem", None))
            if part
        ) or " ".join(str(exc).split())
        raise PackInvalid([_said(filename, line, "not_yaml", problem=said)]) from exc
    if not isinstance(data, dict):
        raise PackInvalid([_said(filename, 1, "not_mapping")])
    try:
        return Pack.model_validate(data)
    except ValidationError as exc:
        node = yaml.compose(text, Loader=_LOADER)  # only now: the lines of the problems
        problems = [p for err in exc.errors() for p in _problems(filename, node, err)]
        raise PackInvalid(problems) from exc


def advice(pack: Pack, text: str, filename: str = "<pack>") -> list[Problem]:
    """What a valid pack may still get wrong, for `kesu policy validate` to warn about: a review
    step that only people of the level's own handler tier can give. A handler never reviews
    their own case, so such a complaint waits for a second person of that tier, and an
    organisation with only one can never close it (the seed packs' 重大投诉 did, until their
    packs said who signs a case the top tier handles)."""
    held = {r.tier for r in pack.roles if r.tier}
    node: yaml.Node | None = None
    out: list[Problem] = []
    for lv in pack.levels:
        for i, step in enumerate(lv.review_chain):
            if step.role is not None:
                role = pack.role(step.role)
                able = {role.tier} if role and role.tier else set()
                reviewer = role.name if role else step.role
            else:
                needed = pack.tier_rank(step.tier)
                able = {t for t in held if pack.tier_rank(t) >= needed}
                reviewer = next(t.name for t in pack.tiers if t.key == step.tier)
            if able != {lv.handler_tier}:
                continue
            if node is None:
                node = yaml.compose(text, Loader=_LOADER)
            loc = ("levels", lv.key, "review_chain", i)
            tier = next(t.name for t in pack.tiers if t.key == lv.handler_tier)
            params = {"level": lv.name, "tier": tier, "reviewer": reviewer}
            where = ".".join(str(part) for part in loc)
            found = Problem(
                filename, _line_of(node, loc), where, "", "policy.advice.self_review", params
            )
            out.append(replace(found, rule=found.said("en")))
    return out


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def builtin_keys() -> list[str]:
    folder = files("kesu.policy").joinpath("packs")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def builtin_source(key: str) -> str:
    path = files("kesu.policy").joinpath("packs", f"{key}.yaml")
    if not path.is_file():
        raise NotFound("not_found.pack", key=key)
    return path.read_text(encoding="utf-8")


def load_file(path: Path) -> Pack:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # e.g. saved as GBK by a Windows editor
        line = raw[: exc.start].count(b"\n") + 1
        problem = _said(str(path), line, "not_utf8", byte=f"{raw[exc.start]:02x}")
        raise PackInvalid([problem]) from exc
    return parse_pack(text, str(path))


@cache
def parse_cached(text: str) -> Pack:
    """Packs are immutable once stored; parse each distinct text once per process."""
    return parse_pack(text)
