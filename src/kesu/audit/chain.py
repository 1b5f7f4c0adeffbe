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
