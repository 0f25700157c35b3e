"""Host names the browser itself resolved or connected to, read from Chromium's NetLog.

A skimmer can smuggle data out in a DNS name (`4000056655665556.evil.example`) through a resource
hint or a request that never completes. The network recorder sees requests; the NetLog also sees
connections the browser opened on its own (preconnects) and names it looked up, whatever the page's
scripts did to hide them. The log is written by Chromium (`--log-net-log`), one event per line, and
is read tolerantly: it is still open while the browser runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..evidence import DnsRecord
from ..hosts import host_of, is_ip, normalize_host
from . import Recorder

# Events whose parameters name a destination host, and the parameter that holds it.
HOST_PARAMS = {
    "HOST_RESOLVER_MANAGER_REQUEST": "host",
    "HOST_RESOLVER_DNS_TASK": "host",
    "HTTP_STREAM_JOB": "destination",
    "HTTP_STREAM_JOB_CONTROLLER": "url",
    "QUIC_SESSION_POOL_JOB": "host",
    "TRANSPORT_SECURITY_STATE_SHOULD_UPGRADE_TO_SSL": "host",
    "TCP_CLIENT_SOCKET_POOL_REQUESTED_SOCKET": "group_id",
    "SOCKET_POOL_CONNECT_JOB_CREATED": "group_id",
}
GROUP_HOST = re.compile(r"(?:https?|wss?)://([^/:\s<>]+)")


def read_netlog(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event type name, params) for each complete event line of a NetLog, finished or not."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    if not lines:
        return
    try:
        header = json.loads(lines[0].rstrip().rstrip(",") + "}")
        names = {v: k for k, v in header["constants"]["logEventTypes"].items()}
    except (ValueError, KeyError):
        return
    for line in lines[1:]:
        line = line.strip().rstrip(",")
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue  # the last line of a log still being written
        name = names.get(event.get("type"))
        params = event.get("params")
        if name and isinstance(params, dict):
            yield name, params


def hosts_in_netlog(path: Path) -> list[tuple[str, bool, str | None]]:
    """(host, is_preconnect, top-level site that caused it) in order of first appearance. Chromium's
    own background lookups are kept too: they never hold card data, and hiding them would hide
    what the browser really did."""
    seen: dict[str, bool] = {}
    sites: dict[str, str | None] = {}
    for name, params in read_netlog(path):
        key = HOST_PARAMS.get(name)
        value = params.get(key) if key else None
        if not isinstance(value, str) or not value:
            continue
        if "://" in value:
            found = GROUP_HOST.search(value)
            host = normalize_host(found.group(1)) if found else host_of(value)
        else:
            host = normalize_host(value)
        if not host or host.startswith("~") or is_ip(host):
            continue  # a host-resolver rule's target ("~notfound", 127.0.0.1), not a name a page used
        preconnect = bool(params.get("is_preconnect"))
        seen[host] = seen.get(host, False) or preconnect
        key_text = params.get("network_anonymization_key") or ""
        if not sites.get(host) and isinstance(key_text, str) and "://" in key_text:
            sites[host] = key_text.split()[0]
    return [(h, p, sites.get(h)) for h, p in seen.items()]


class NetLogRecorder(Recorder):
    name = "netlog"

    def __init__(self, session: Any, netlog_path: Path | None = None) -> None:
        super().__init__(session)
        self.path = netlog_path

    def export(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        return {"dns": tuple(DnsRecord(host=h, source="netlog", preconnect=p, frame_url=site)
                             for h, p, site in hosts_in_netlog(self.path))}
