"""The hash chain over a complaint's events (pure).

hash = SHA-256(prev_hash + canonical JSON of the event's recorded fields). The first
event of a complaint chains from GENESIS. Changing, removing or reordering any event
breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = json.dumps(
        fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def hashed_fields(
    *,
    complaint_id: int,
    seq: int,
    command: str,
    actor_kind: str,
    actor_id: int | None,
    at: datetime,
    payload: dict[str, Any],
    policy_version_id: int,
) -> dict[str, Any]:
    return {
        "complaint_id": complaint_id,
        "seq": seq,
        "command": command,
        "actor_kind": actor_kind,
        "actor_id": actor_id,
        "at": at.isoformat(timespec="microseconds"),
        "payload": payload,
        "policy_version_id": policy_version_id,
    }


@dataclass(frozen=True)
class Break:
    complaint_id: int
    event_id: int | None
    seq: int
    problem: str  # altered | missing | reordered


def verify_chain(complaint_id: int, events: Iterable[Any]) -> Break | None:
    """Walk one complaint's events in id order; return the first break, or None."""
    prev = GENESIS
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            problem = "missing" if ev.seq > expected_seq else "reordered"
            return Break(complaint_id, ev.id, ev.seq, problem)
        fields = hashed_fields(
            complaint_id=ev.complaint_id,
            seq=ev.seq,
            command=ev.command,
            actor_kind=ev.actor_kind,
            actor_id=ev.actor_id,
            at=ev.at,
            payload=ev.payload,
            policy_version_id=ev.policy_version_id,
        )
        if ev.prev_hash != prev or event_hash(prev, fields) != ev.hash:
            return Break(complaint_id, ev.id, ev.seq, "altered")
        prev = ev.hash
        expected_seq += 1
    return None


# --- the configuration trail ---------------------------------------------------------------


def config_fields(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    target_kind: str,
    target_id: int | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "action": action,
        "target_kind": target_kind,
        "target_id": target_id,
        "details": details,
    }


def verify_config_chain(entries: Iterable[Any]) -> Break | None:
    """The config trail is one chain (complaint_id 0 in a Break); first break or None."""
    prev = GENESIS
    expected_seq = 1
    for e in entries:
        if e.seq != expected_seq:
            return Break(0, e.id, e.seq, "missing" if e.seq > expected_seq else "reordered")
        fields = config_fields(
            seq=e.seq,
            at=e.at,
            actor_id=e.actor_id,
            action=e.action,
            target_kind=e.target_kind,
            target_id=e.target_id,
            details=e.details,
        )
        if e.prev_hash != prev or event_hash(prev, fields) != e.hash:
            return Break(0, e.id, e.seq, "altered")
        prev = e.hash
        expected_seq += 1
    return None


# --- anchors -------------------------------------------------------------------------------


def anchor_body(
    *,
    prev_signature: str,
    made_at: datetime,
    from_event_id: int,
    up_to_event_id: int,
    heads: dict[str, Any],
    config_seq: int,
    config_hash: str,
) -> bytes:
    """The canonical bytes an anchor's HMAC signs."""
    return json.dumps(
        {
            "prev": prev_signature,
            "made_at": made_at.isoformat(timespec="microseconds"),
            "from": from_event_id,
            "to": up_to_event_id,
            "heads": heads,
            "config": [config_seq, config_hash],
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
