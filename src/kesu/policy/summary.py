"""A pack as a complaint manager reads it (`kesu policy show`): levels with their handler tier
and review chain, every timer with its limit and consequences, delays and escalation. Pure."""

from __future__ import annotations

from kesu.i18n import pick
from kesu.policy.schema import Pack, Trigger


def _triggers(triggers: list[Trigger]) -> str:
    parts = []
    for t in triggers:
        text = t.event
        if t.when:
            text += "(" + ", ".join(f"{k}={v}" for k, v in t.when.items()) + ")"
        if t.min_tier:
            text += f" by {t.min_tier}+"
        if t.roles:
            text += " by " + "/".join(t.roles)
        parts.append(text)
    return ", ".join(parts) or "-"


def describe(pack: Pack, locale: str = "zh_Hans") -> list[str]:
    """Lines of text: levels, timers, delays, escalation, notifications, forms."""
    lines = [f"{pack.key} v{pack.version} — {pick(pack.name, locale)}", f"source: {pack.source}"]
    lines.append(f"timezone: {pack.timezone}; business hours: {', '.join(pack.business_hours)}")
    lines.append("levels:")
    for lv in pack.levels:
        chain = " → ".join(s.role or f"{s.tier}+" for s in lv.review_chain) or "-"
        lines.append(
            f"  {lv.key} {pick(lv.name, locale)}: handled by {lv.handler_tier}; "
            f"review {chain}; closed by {'/'.join(lv.closer_roles)}"
        )
    lines.append("timers:")
    for t in pack.timers:
        lines.append(f"  {t.key} {pick(t.name, locale)}" + (f"  [{t.basis}]" if t.basis else ""))
        lines.append(f"    starts: {_triggers(t.start)}; met by: {_triggers(t.met_by)}")
        limits = [f"{t.within}"] + [
            f"{lv}: {timing.within or t.within}"
            + (f", {timing.penalty} yuan" if timing.penalty else "")
            for lv, timing in t.by_level.items()
        ]
        window = f" (from {t.not_before})" if t.not_before else ""
        levels = f" levels {'/'.join(t.levels)};" if t.levels else ""
        lines.append(f"    within: {'; '.join(limits)}{window};{levels} recurring: {t.recurring}")
        breach = t.on_breach
        consequences = [f"notify {'/'.join(breach.notify)}"] if breach.notify else []
        if breach.escalate:
            consequences.append("escalate one level")
        if breach.penalty:
            consequences.append(f"penalty {breach.penalty} yuan to the {breach.penalty_to}")
        lines.append(f"    on breach: {'; '.join(consequences) or '-'}")
    d = pack.delays
    if d.effect == "pause":
        approvers = "/".join(d.approver_roles) or "the role table"
        lines.append(f"delays: pause, approved by {approvers}; resume on {_triggers(d.resume_on)}")
    else:
        steps = "; ".join(
            f"up to {s.up_to} by {'/'.join(s.approver_roles)}"
            + (" (customer told)" if s.notify_customer else "")
            for s in d.steps
        )
        lines.append(f"delays: extend {'/'.join(d.timers or ['all timers'])}: {steps}")
    e = pack.escalation
    lines.append(
        f"escalation: keywords {', '.join(pack.urgent_keywords) or '-'}; emergency categories "
        f"{', '.join(e.emergency_categories) or '-'}; top level tells "
        f"{'/'.join(e.top_level_notify) or '-'}; auto-assign {e.auto_assign}"
    )
    if e.repeat:
        lines.append(
            f"  repeat within {e.repeat.window} (same {', '.join(e.repeat.same)}): "
            f"at least {e.repeat.min_level}"
        )
    if pack.response_rounds:
        r = pack.response_rounds
        per_level = "".join(
            f"; {level}: {'case by case' if limit is None else f'at most {limit}'}"
            for level, limit in r.by_level.items()
        )
        lines.append(f"  response rounds: at most {r.max}{per_level}")
    for rule in pack.notifications:
        who = "/".join(rule.notify) + (" + customer" if rule.customer else "")
        lines.append(f"notify on {_triggers([Trigger(event=rule.event, when=rule.when)])}: {who}")
    for form in pack.forms:
        lines.append(
            f"form {pick(form.name, locale)}: prepare {'/'.join(form.prepare) or '-'}, review "
            f"{'/'.join(form.review) or '-'}, approve {'/'.join(form.approve) or '-'}, "
            f"informed {'/'.join(form.informed) or '-'}"
        )
    return lines
