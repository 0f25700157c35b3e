"""Who may receive card data, and the rules that judge the evidence against it (pure)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from .sightings import Sighting, find_sightings
from audit.evidence import Evidence, FrameRecord
from audit.hosts import host_of, matches_any, registrable_domain

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
RULE_SEVERITY = {
    "card-data-egress": "critical",
    "card-field-outside-processor": "critical",
    "card-field-obscured": "critical",
    "card-data-at-rest": "high",
    "script-not-in-baseline": "high",
    "script-changed": "high",
    "header-changed": "medium",
    "processor-blocked-by-client": "medium",
    "unlisted-third-party": "low",
}
# Fields whose presence alone is a finding. Expiry, name and postal are recorded, not flagged:
# processors hand the merchant exp_month, brand and last four as a matter of course.
FLAGGED_FIELDS = ("number", "cvc")


@dataclass(frozen=True)
class HostPolicy:
    card_data_hosts: tuple[str, ...]
    card_frame_hosts: tuple[str, ...]
    processor_hosts: tuple[str, ...]
    known_hosts: tuple[str, ...] = ()
    merchant_hosts: tuple[str, ...] = ()
    merchant_domain: str = ""
    profile_sources: tuple[dict[str, str], ...] = ()

    def party(self, host: str) -> str:
        if not host:
            return "local"
        # Only the profile makes a host the processor's: a host a scenario allows to receive card
        # data or to frame card inputs is allowed that, not exempted from every other check.
        if matches_any(host, self.processor_hosts):
            return "processor"
        if (self.merchant_domain and registrable_domain(host) == self.merchant_domain) or \
                matches_any(host, self.merchant_hosts):
            return "merchant"
        if matches_any(host, self.known_hosts + self.card_data_hosts + self.card_frame_hosts):
            return "known"
        return "unlisted"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "HostPolicy":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known})

    @classmethod
    def build(cls, profile: Any, start_url: str, extra: dict[str, Any] | None = None,
              merchant_hosts: tuple[str, ...] = ()) -> "HostPolicy":
        """The profile's host lists plus a scenario's `policy:` additions (`extra`)."""
        more = lambda name: tuple((extra or {}).get(name) or ())  # noqa: E731
        return cls(
            card_data_hosts=tuple(profile.card_data_hosts) + more("card_data_hosts"),
            card_frame_hosts=tuple(profile.card_frame_hosts) + tuple(profile.popup_hosts)
            + more("card_frame_hosts"),
            processor_hosts=tuple(profile.processor_hosts),
            known_hosts=more("known_hosts"),
            merchant_hosts=tuple(merchant_hosts),
            merchant_domain=registrable_domain(host_of(start_url)),
            profile_sources=tuple({"url": s.url, "what": s.what} for s in profile.sources),
        )

    @classmethod
    def for_scenario(cls, scenario: Any) -> "HostPolicy":
        return cls.build(scenario.profile, str(scenario.start_url), scenario.policy.model_dump(),
                         tuple(scenario.merchant_hosts))


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    host: str | None = None
    url: str | None = None
    channel: str | None = None
    field: str | None = None
    encoding: str | None = None
    blocked: bool = False
    request_id: str | None = None
    frame_url: str | None = None
    location: str | None = None
    excerpt: str | None = None
    count: int = 1
    script: str | None = None     # the script that sent it, when known
    blocked_rule: str | None = None  # processor-blocked-by-client: the ad blocker's filter, as written
    blocked_list: str | None = None  # ...and the list it comes from

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finding(rule: str, message: str, **kw: Any) -> Finding:
    return Finding(rule=rule, severity=RULE_SEVERITY[rule], message=message, **kw)


def card_data_egress(sightings: list[Sighting], policy: HostPolicy) -> list[Finding]:
    """The number, or the CVC in card context, sent to a host that is not a card-data host."""
    findings: dict[tuple[str, str, str], Finding] = {}
    counts: Counter[tuple[str, str, str]] = Counter()
    for s in sightings:
        if s.channel in ("storage", "console") or s.field not in FLAGGED_FIELDS or not s.context_ok:
            continue
        if s.host and matches_any(s.host, policy.card_data_hosts):
            continue
        key = (s.host, s.field, s.channel)
        counts[key] += 1
        if key in findings and (findings[key].request_id or not s.request_id):
            continue  # keep the first network-level sighting: it names the request
        what = "card number" if s.field == "number" else "CVC"
        where = s.host or "an unnamed peer"
        verb = "attempted to send (stopped by " + (s.blocked_by or "the browser") + ")" if s.blocked else "sent"
        findings[key] = _finding(
            "card-data-egress", f"{what} ({s.encoding}) {verb} to {where} over {s.channel}",
            host=s.host or None, url=s.url, channel=s.channel, field=s.field, encoding=s.encoding,
            blocked=s.blocked, request_id=s.request_id, frame_url=s.frame_url, location=s.location,
            excerpt=s.excerpt, script=s.script)
    return [Finding(**{**f.to_dict(), "count": counts[k]}) for k, f in findings.items()]


def frame_host(frame: FrameRecord, frames: tuple[FrameRecord, ...]) -> str:
    """about:blank and srcdoc frames run in their parent's origin: judge them by it."""
    seen = set()
    while not frame.host and frame.parent is not None and frame.parent not in seen:
        seen.add(frame.parent)
        frame = frames[frame.parent]
    return frame.host


def card_field_outside_processor(evidence: Evidence, policy: HostPolicy) -> list[Finding]:
    out = []
    for frame in evidence.frames:
        shown = {*frame.card_inputs, *frame.typed_fields} & set(FLAGGED_FIELDS)
        # A card field the payer never saw is still one a script can show, fill or read: judged
        # the same, named apart.
        hidden = set(frame.hidden_inputs) & set(FLAGGED_FIELDS) - shown
        fields = sorted(shown | hidden)
        if not fields:
            continue
        host = frame_host(frame, evidence.frames)
        if host and matches_any(host, policy.card_frame_hosts):
            continue
        kind = "page" if frame.parent is None else "frame"
        typed = f"; the canary was typed there ({', '.join(frame.typed_fields)})" if frame.typed_fields else ""
        inside = sorted({f.where for f in evidence.card_forms if f.frame == frame.index and f.where != "document"})
        where = f", inside the {'; the '.join(inside)}" if inside else ""
        what = f"card input ({', '.join(sorted(shown))})" if shown else ""
        if hidden:
            what += (" and " if what else "") + f"card input hidden from the payer ({', '.join(sorted(hidden))})"
        out.append(_finding("card-field-outside-processor",
                            f"{what} in a {kind} served by {host or frame.url}{where}, "
                            f"not by the processor{typed}",
                            host=host or None, url=frame.url, frame_url=frame.url, field=fields[0],
                            location=f"frame {frame.index}"))
    return out


def card_field_obscured(evidence: Evidence, policy: HostPolicy) -> list[Finding]:
    """Where the payer clicked a card field, another element lay on top: the payer's clicks and
    keys went to it. Elements of the processor's own card frames (its placeholders and labels)
    are the processor's business."""
    out: dict[tuple[str, str, str], Finding] = {}
    counts: Counter[tuple[str, str, str]] = Counter()
    for keys in evidence.keystrokes:
        if keys.covered_by is None:
            continue
        host = keys.cover_host or ""
        if host and matches_any(host, policy.card_frame_hosts):
            continue
        key = (host, keys.cover_frame_url or "", keys.covered_by)
        counts[key] += 1
        landed = (f"{keys.landed} of {keys.landed_host or keys.landed_frame_url}" if keys.landed
                  else "no element (the keys went nowhere)")
        out.setdefault(key, _finding(
            "card-field-obscured",
            f"{keys.covered_by} in a frame served by {host or keys.cover_frame_url} lies on top of the "
            f"{keys.field} field ({keys.target} of {keys.target_host or keys.target_frame_url}); a payer's "
            f"click at ({keys.x:.0f}, {keys.y:.0f}) lands on it and the keys went to {landed}",
            host=host or None, url=keys.cover_frame_url, frame_url=keys.cover_frame_url, field=keys.field,
            location=keys.covered_by))
    return [Finding(**{**f.to_dict(), "count": counts[k]}) for k, f in out.items()]


def card_data_at_rest(sightings: list[Sighting], policy: HostPolicy) -> list[Finding]:
    out: dict[tuple[str, str], Finding] = {}
    for s in sightings:
        if s.channel != "storage" or s.field != "number":
            continue
        if s.host and matches_any(s.host, policy.processor_hosts + policy.card_data_hosts):
            continue
        out.setdefault((s.host, s.location), _finding(
            "card-data-at-rest", f"card number ({s.encoding}) stored in {s.location} of {s.host}",
            host=s.host, url=s.url, channel="storage", field="number", encoding=s.encoding,
            location=s.location, excerpt=s.excerpt))
    return list(out.values())


def processor_blocked(evidence: Evidence, policy: HostPolicy) -> list[Finding]:
    """The payer's ad blocker against the payment: medium when the payment still completed
    (telemetry stopped), high when it could not. Each finding names the filter and its list."""
    completed = evidence.completed
    severity = "medium" if completed else "high"
    outcome = ("the payment still completed" if completed
               else "the payment could not complete: payers with this ad blocker cannot pay")
    blocked: dict[str, list[Any]] = {}
    for req in evidence.requests:
        if req.blocked_by_client and policy.party(req.host) == "processor":
            blocked.setdefault(req.host, []).append(req)
    out = []
    for host, reqs in blocked.items():
        rules = list(dict.fromkeys(_rule_words(r.blocked_rule, r.blocked_list) for r in reqs if r.blocked_rule))
        by = f" by {'; '.join(rules)}" if rules else ""
        out.append(Finding(rule="processor-blocked-by-client", severity=severity,
                           message=f"{len(reqs)} request(s) to {host} stopped by the ad blocker "
                                   f"(ERR_BLOCKED_BY_CLIENT){by}; {outcome}",
                           host=host, request_id=reqs[0].id, count=len(reqs), url=reqs[0].url,
                           blocked=True, blocked_rule=reqs[0].blocked_rule, blocked_list=reqs[0].blocked_list))
    if not completed:
        for hidden in evidence.hidden:
            if hidden.step is None or not 0 < hidden.step <= len(evidence.steps):
                continue
            step = evidence.steps[hidden.step - 1]
            what = f"{hidden.element}{' (' + repr(hidden.text) + ')' if hidden.text else ''}"
            out.append(Finding(
                rule="processor-blocked-by-client", severity="high",
                message=f"the ad blocker hid {what}, which step {hidden.step} ({step.action} {step.target}) "
                        f"needed, by {_rule_words(hidden.rule, hidden.list)}; the payment could not "
                        "complete: payers with this ad blocker cannot pay",
                host=host_of(hidden.frame_url or "") or None, url=hidden.frame_url,
                frame_url=hidden.frame_url, excerpt=hidden.element, blocked_rule=hidden.rule,
                blocked_list=hidden.list))
    return out


def _rule_words(rule: str | None, origin: str | None) -> str:
    return f"`{rule}`" + (f" ({origin})" if origin else "")


def unlisted_third_parties(evidence: Evidence, policy: HostPolicy) -> list[Finding]:
    """Hosts the payment page talks to that nobody listed. Requests made from inside the
    processor's own frames are the processor's business and are not counted."""
    seen: dict[str, list[str]] = {}
    for req in evidence.requests:
        if not req.host or policy.party(req.host) != "unlisted" or req.source == "browser":
            continue  # the browser's own traffic is not the payment page talking
        if req.frame_url and policy.party(host_of(req.frame_url)) == "processor":
            continue
        seen.setdefault(req.host, []).append(req.id)
    for ws in evidence.websockets:
        if ws.host and policy.party(ws.host) == "unlisted":
            seen.setdefault(ws.host, []).append(ws.id)
    return [_finding("unlisted-third-party",
                     f"the payment page talks to {host} ({len(ids)} request(s)), which is neither the "
                     f"merchant's, the processor's, nor a known host", host=host, request_id=ids[0],
                     count=len(ids))
            for host, ids in seen.items()]


def judge(evidence: Evidence, policy: HostPolicy) -> tuple[list[Finding], list[Sighting]]:
    """Every rule over the evidence; findings sorted by severity."""
    sightings = find_sightings(evidence)
    findings = (card_data_egress(sightings, policy) + card_field_outside_processor(evidence, policy)
                + card_field_obscured(evidence, policy)
                + card_data_at_rest(sightings, policy) + processor_blocked(evidence, policy)
                + unlisted_third_parties(evidence, policy))
    findings.sort(key=lambda f: SEVERITY_ORDER.index(f.severity))
    return findings, sightings
