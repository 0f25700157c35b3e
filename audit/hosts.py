"""Host names, host patterns and registrable domains: pure functions, no I/O at run time.

A host pattern is an exact host (`api.stripe.com`) or `*.domain` (`*.stripe.com`), which matches any
subdomain at any depth but not the bare domain, so `*.stripe.com` never silently admits `stripe.com`.

Registrable domains come from tldextract's bundled Public Suffix List snapshot: the tool must never
fetch anything but the pages under audit, so the extractor is built with `suffix_list_urls=()` and no
cache directory.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

# One DNS label: letters, digits, hyphens, not starting or ending with a hyphen. Underscores are
# accepted because real hosts carry them (`_dmarc`, some CDN names) and Chromium resolves them.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def _to_ascii(host: str) -> str:
    """IDNA-encode a host label by label; ASCII labels pass through untouched."""
    if host.isascii():
        return host
    labels = []
    for label in host.split("."):
        if label.isascii():
            labels.append(label)
            continue
        try:
            labels.append(label.encode("idna").decode("ascii"))
        except UnicodeError:
            labels.append(label)  # left as is: is_valid_pattern / matching will reject or miss it
    return ".".join(labels)


def _strip_port(host: str) -> str:
    if host.startswith("["):  # [::1] or [::1]:8443
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:  # host:port; several colons means a bare IPv6 literal
        return host.split(":", 1)[0]
    return host


def normalize_host(h: str) -> str:
    """Lowercase, strip a port and a trailing dot, IDNA to ASCII: the form every comparison uses."""
    host = _strip_port(h.strip()).lower().rstrip(".")
    return _to_ascii(host)


def host_of(url: str) -> str:
    """The normalised host of a URL; "" when it has none (data:, about:blank, malformed)."""
    if url.startswith("blob:"):  # blob:https://shop.example/uuid belongs to its creator's origin
        url = url[len("blob:"):]
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return ""
    return normalize_host(host) if host else ""


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _is_hostname(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    return all(_LABEL.match(label) for label in host.split("."))


def pattern_problem(p: str) -> str | None:
    """Why `p` is not a usable host pattern, or None when it is."""
    if not isinstance(p, str) or not p.strip():
        return "empty host pattern"
    raw = p.strip()
    if "/" in raw or "://" in raw:
        return f"{raw!r} is a URL or path, not a host (write just the host, e.g. api.stripe.com)"
    if raw.startswith("*."):
        domain = normalize_host(raw[2:])
        if "*" in domain or not _is_hostname(domain) or is_ip(domain):
            return f"{raw!r} is not a host pattern (an exact host or *.domain)"
        if _is_public_suffix(domain):
            # `*.com` or `*.co.uk` would admit every site under that suffix: never what a policy means.
            return f"{raw!r} covers a whole public suffix; name the domain (e.g. *.example{'.' + domain})"
        return None
    if "*" in raw:
        return f"{raw!r}: a wildcard is only allowed as a leading '*.' (e.g. *.stripe.com)"
    host = normalize_host(raw)
    if is_ip(host) or _is_hostname(host):
        return None
    return f"{raw!r} is not a host name"


def is_valid_pattern(p: str) -> bool:
    return pattern_problem(p) is None


def normalize_pattern(p: str) -> str:
    """The canonical form of a valid pattern: lowercase, IDNA, no trailing dot or port."""
    raw = p.strip()
    if raw.startswith("*."):
        return "*." + normalize_host(raw[2:])
    return normalize_host(raw)


def matches(host: str, pattern: str) -> bool:
    """Exact host, or `*.domain` for any subdomain at any depth (never the bare domain)."""
    h = normalize_host(host)
    if not h:
        return False
    raw = pattern.strip()
    if raw.startswith("*."):
        return h.endswith("." + normalize_host(raw[2:]))
    return h == normalize_host(raw)


def matches_any(host: str, patterns: list[str] | tuple[str, ...]) -> bool:
    return any(matches(host, p) for p in patterns)


@functools.lru_cache(maxsize=1)
def _extractor() -> Any:
    import tldextract  # imported on first use: it pulls in an HTTP stack the CLI's start need not pay for

    # Bundled snapshot only (no URLs, no cache dir): nothing is fetched or written. Private suffixes
    # (github.io, myshopify.com...) are included, as browsers do for "site": two shops on the same
    # hosting suffix are different merchants.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def _is_public_suffix(host: str) -> bool:
    r = _extractor()(host)
    return bool(r.suffix) and not r.domain


@functools.lru_cache(maxsize=4096)
def registrable_domain(host: str) -> str:
    """eTLD+1 of a host (`pay.shop.co.uk` -> `shop.co.uk`).

    IP literals and single-label hosts (localhost) are their own site. A TLD missing from the
    list (`.test`, `.example`, `.internal`: the local world tests and demos live in) is treated as a
    one-label suffix, so `invoices.example.test` -> `example.test`.
    """
    h = normalize_host(host)
    if not h or is_ip(h) or "." not in h:
        return h
    r = _extractor()(h)
    if r.suffix:
        return f"{r.domain}.{r.suffix}" if r.domain else h  # a bare public suffix is its own site
    return ".".join(h.split(".")[-2:])


def same_site(a: str, b: str) -> bool:
    ra, rb = registrable_domain(a), registrable_domain(b)
    return bool(ra) and ra == rb


def parse_address(value: str) -> tuple[str, int | None]:
    """Split a `hosts:` mapping value (`127.0.0.1:8443`, `[::1]:8443`, `::1`, `10.0.0.5`).

    Returns (address, port or None); raises ValueError with a message a user can act on.
    """
    raw = str(value).strip()
    port_text: str | None = None
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise ValueError(f"{raw!r}: missing ']' after the IPv6 address")
        address, rest = raw[1:end], raw[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{raw!r}: expected ':PORT' after ']'")
            port_text = rest[1:]
    elif raw.count(":") == 1:
        address, port_text = raw.split(":")
    else:
        address = raw  # IPv4, or a bare IPv6 literal (several colons, no port)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{raw!r}: expected ADDRESS or ADDRESS:PORT with an IP address "
                         "(e.g. 127.0.0.1:8443 or [::1]:8443); names are not resolved") from None
    if ip.version == 6 and port_text is not None and not raw.startswith("["):
        raise ValueError(f"{raw!r}: write an IPv6 address with a port as [ADDRESS]:PORT")
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"{raw!r}: port must be a number from 1 to 65535")
        port = int(port_text)
    return str(ip), port
