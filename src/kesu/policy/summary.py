"""A pack as a complaint manager reads it (`kesu policy show`): levels with their handler tier
and review chain, every timer with its limit and consequences, delays and escalation, in the
reader's language (role, event and level keys stay as the pack spells them). Pure."""

from __future__ import annotations

from typing import Any

from kesu.i18n import duration, pick, translate
from kesu.policy.schema import Duration, Pack, Trigger


def describe(pack: Pack, locale: str = "zh_Hans") -> list[str]:
    """Lines of text: levels, timers, delays, escalation, notifications, forms."""

    def t(name: str, /, **params: Any) -> str:
        return translate(f"policy.show.{name}", locale, **params)

    def span(d: Duration) -> str:
        return duration(d.unit, d.amount, locale)

    def items(parts: list[str]) -> str:
        return translate("web.sep.items", locale).join(parts)

    def words(parts: list[str]) -> str:
        return translate("web.sep.list", locale).join(parts) or "-"

    def yes(flag: bool) -> str:
        return t("yes") if flag else t("no")

    def triggers(items: list[Trigger]) -> str:
        parts = []
        for tr in items:
            text = tr.event
            if tr.when:
                text += "(" + ", ".join(f"{k}={v}" for k, v in tr.when.items()) + ")"
            if tr.min_tier:
                text = t("by", what=text, who=t("min_tier", tier=tr.min_tier))
            if tr.roles:
                text = t("by", what=text, who="/".join(tr.roles))
            parts.append(text)
        return words(parts)

    lines = [
        f"{pack.key} v{pack.version} — {pick(pack.name, locale)}",
        t("source", source=pack.source),
        t("hours", timezone=pack.timezone, hours=words(pack.business_hours)),
        t("levels"),
    ]
    for lv in pack.levels:
        chain = " → ".join(s.role or f"{s.tier}+" for s in lv.review_chain) or "-"
        lines.append(
            t(
                "level",
                key=lv.key,
                name=pick(lv.name, locale),
                tier=lv.handler_tier,
                chain=chain,
                closers="/".join(lv.closer_roles),
            )
        )
    lines.append(t("timers"))
    for tm in pack.timers:
        lines.append(
            f"  {tm.key} {pick(tm.name, locale)}" + (f"  [{tm.basis}]" if tm.basis else "")
        )
        lines.append(t("triggers", start=triggers(tm.start), met=triggers(tm.met_by)))
        limits = [span(tm.within)] + [
            f"{lv}: {span(timing.within or tm.within)}"
            + (f", {t('yuan', amount=timing.penalty)}" if timing.penalty else "")
            for lv, timing in tm.by_level.items()
        ]
        lines.append(
            t(
                "within",
                limits=items(limits),
                window=t("not_before", time=span(tm.not_before)) if tm.not_before else "",
                levels=t("only_levels", levels="/".join(tm.levels)) if tm.levels else "",
                recurring=yes(tm.recurring),
            )
        )
        breach = tm.on_breach
        consequences = [t("notify", who="/".join(breach.notify))] if breach.notify else []
        if breach.escalate:
            consequences.append(t("escalate"))
        if breach.penalty:
            to = t(f"penalty_to.{breach.penalty_to}")
            consequences.append(t("penalty", amount=breach.penalty, to=to))
        lines.append(t("on_breach", consequences=items(consequences) or "-"))
    d = pack.delays
    if d.effect == "pause":
        approvers = "/".join(d.approver_roles) or t("role_table")
        lines.append(t("delays_pause", approvers=approvers, resume=triggers(d.resume_on)))
    else:
        steps = items(
            [
                t("delay_step", up_to=span(s.up_to), roles="/".join(s.approver_roles))
                + (t("customer_told") if s.notify_customer else "")
                for s in d.steps
            ]
        )
        lines.append(t("delays_extend", timers="/".join(d.timers) or t("all_timers"), steps=steps))
    e = pack.escalation
    lines.append(
        t(
            "escalation",
            keywords=words(pack.urgent_keywords),
            categories=words(e.emergency_categories),
            notify="/".join(e.top_level_notify) or "-",
            auto=yes(e.auto_assign),
        )
    )
    if e.repeat:
        lines.append(
            t(
                "repeat",
                window=span(e.repeat.window),
                same=words(e.repeat.same),
                level=e.repeat.min_level,
            )
        )
    if pack.response_rounds:
        r = pack.response_rounds
        per_level = "".join(
            t("rounds_open", level=level)
            if limit is None
            else t("rounds_level", level=level, limit=limit)
            for level, limit in r.by_level.items()
        )
        lines.append(t("rounds", max=r.max, per_level=per_level))
    for rule in pack.notifications:
        who = "/".join([*rule.notify, *([t("customer")] if rule.customer else [])])
        event = triggers([Trigger(event=rule.event, when=rule.when)])
        lines.append(t("notify_on", event=event, who=who))
    for form in pack.forms:
        lines.append(
            t(
                "form",
                name=pick(form.name, locale),
                prepare="/".join(form.prepare) or "-",
                review="/".join(form.review) or "-",
                approve="/".join(form.approve) or "-",
                informed="/".join(form.informed) or "-",
            )
        )
    return lines
