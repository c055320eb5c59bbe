"""Alert records: what was seen, against which null, and the evidence to open a case."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..textsafe import excerpt, terminal_text

#: Alert types, in the order an investigator would read them.
ALERT_TYPES: dict[str, str] = {
    "surge_ring": "a shop's order/review volume surged and the surge's buyers are coordinated "
                  "(shared devices, payment accounts or addresses, or known ring members)",
    "shop_surge": "a shop's order/review volume surged far above its own baseline (no sign of coordination yet)",
    "ring_active": "members of a known ring acted again together at one shop",
    "ring_infrastructure": "accounts outside a known ring used that ring's devices, IPs, payment accounts or addresses",
}


def iso(seconds: float) -> str:
    """UTC ISO 8601 text of epoch seconds.

    >>> iso(0)
    '1970-01-01T00:00:00Z'
    """
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean(value: Any) -> Any:
    """Data text made safe for a terminal that shows the JSONL (and bounded in length)."""
    if isinstance(value, str):
        return terminal_text(excerpt(value))
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True)
class Alert:
    """One alert.

    Attributes
    ----------
    type
        One of :data:`ALERT_TYPES`.
    time
        Event time (epoch seconds) at which the alert was raised.
    p_value
        Tail probability of what was seen under the alert's null model.
    level
        The per-test level ``p_value`` had to reach (the false-alarm budget divided by
        the number of tests per day, see ``docs/monitor.md``).
    window
        ``(start, end)`` of the window the counts are taken over, epoch seconds.
    count, expected
        What was seen in the window and what the null expects.
    shop_id, ring_id
        The shop and/or known ring concerned.
    accounts
        Accounts involved (at most ``MonitorConfig.evidence_accounts``).
    identifiers
        ``(kind, value)`` pairs behind the alert (shared or known ring identifiers).
    evidence
        Further counts and test results (second test of a surge, the ring's type, ...).
    """

    type: str
    time: float
    p_value: float
    level: float
    window: tuple[float, float]
    count: int
    expected: float
    shop_id: str | None = None
    ring_id: str | None = None
    accounts: tuple[str, ...] = ()
    identifiers: tuple[tuple[str, str], ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; text from the data goes through :mod:`graphfraud.textsafe`."""
        cleaned: dict[str, Any] = _clean({
            "type": self.type, "time": iso(self.time), "shop_id": self.shop_id, "ring_id": self.ring_id,
            "p_value": float(f"{self.p_value:.3g}"), "level": float(f"{self.level:.3g}"),
            "window_start": iso(self.window[0]), "window_end": iso(self.window[1]),
            "window_s": int(self.window[1] - self.window[0]), "count": int(self.count),
            "expected": round(float(self.expected), 3), "accounts": list(self.accounts),
            "identifiers": [{"kind": k, "value": v} for k, v in self.identifiers], "evidence": self.evidence,
        })
        return cleaned

    def to_json(self) -> str:
        """One JSONL line (no newline)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False)
