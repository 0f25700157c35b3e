"""Host normalisation, host patterns, registrable domains and `hosts:` addresses, table-tested."""

from __future__ import annotations

import re

import pytest

from audit import hosts


@pytest.mark.parametrize("raw, expected", [
    ("API.Stripe.COM", "api.stripe.com"),
    ("api.stripe.com.", "api.stripe.com"),
    ("api.stripe.com:443", "api.stripe.com"),
    ("[::1]:8443", "::1"),
    ("::1", "::1"),
    ("127.0.0.1:8443", "127.0.0.1"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("  Shop.Example.Test  ", "shop.example.test"),
])
def test_normalize_host(raw: str, expected: str) -> None:
    assert hosts.normalize_host(raw) == expected


@pytest.mark.parametrize("url, expected", [
    ("https://API.stripe.com:443/v1/tokens", "api.stripe.com"),
    ("wss://ws.example.test/socket", "ws.example.test"),
    ("http://[::1]:8080/", "::1"),
    ("blob:https://shop.example.test/1b2c", "shop.example.test"),
    ("data:text/html,hi", ""),
    ("about:blank", ""),
    ("http://[::1/", ""),
])
def test_host_of(url: str, expected: str) -> None:
    assert hosts.host_of(url) == expected


@pytest.mark.parametrize("pattern, valid", [
    ("api.stripe.com", True),
    ("*.stripe.com", True),
    ("*.js.stripe.com", True),
    ("localhost", True),
    ("127.0.0.1", True),
    ("::1", True),
    ("Example.TEST", True),
    ("*.example.test", True),
    ("_dmarc.example.com", True),
    ("*", False),
    ("*.com", False),          # a whole public suffix
    ("*.co.uk", False),
    ("cdn.*.test", False),
    ("*stripe.com", False),
    ("https://api.stripe.com", False),
    ("api.stripe.com/v1", False),
    ("-bad.example.com", False),
    ("", False),
    ("a" * 64 + ".example.com", False),
    ("*.127.0.0.1", False),
])
def test_is_valid_pattern(pattern: str, valid: bool) -> None:
    assert hosts.is_valid_pattern(pattern) is valid


@pytest.mark.parametrize("host, pattern, expected", [
    ("api.stripe.com", "api.stripe.com", True),
    ("API.stripe.com.", "api.stripe.com", True),
    ("api.stripe.com:443", "api.stripe.com", True),
    ("api.stripe.com", "*.stripe.com", True),
    ("a.b.js.stripe.com", "*.stripe.com", True),       # any depth
    ("stripe.com", "*.stripe.com", False),             # never the bare domain
    ("evilstripe.com", "*.stripe.com", False),
    ("stripe.com.evil.test", "*.stripe.com", False),
    ("api.stripe.com", "stripe.com", False),           # exact means exact
    ("m.stripe.network", "*.stripe.com", False),
    ("js.stripe.com", "*.JS.Stripe.com", False),
    ("x.js.stripe.com", "*.JS.Stripe.com", True),
    ("", "*.stripe.com", False),
])
def test_matches(host: str, pattern: str, expected: bool) -> None:
    assert hosts.matches(host, pattern) is expected


def test_matches_any() -> None:
    patterns = ["api.stripe.com", "*.js.stripe.com"]
    assert hosts.matches_any("b.js.stripe.com", patterns)
    assert not hosts.matches_any("js.stripe.com", patterns)
    assert not hosts.matches_any("api.stripe.com", [])


@pytest.mark.parametrize("host, expected", [
    ("example.test", "example.test"),
    ("invoices.example.test", "example.test"),
    ("a.b.c.example.test", "example.test"),
    ("api.stripe.com", "stripe.com"),
    ("m.stripe.network", "stripe.network"),
    ("pay.shop.co.uk", "shop.co.uk"),
    ("co.uk", "co.uk"),
    ("foo.github.io", "foo.github.io"),                # private suffixes count, as in browsers
    ("localhost", "localhost"),
    ("127.0.0.1", "127.0.0.1"),
    ("::1", "::1"),
    ("[::1]:8443", "::1"),
    ("WWW.PayPal.com.", "paypal.com"),
])
def test_registrable_domain(host: str, expected: str) -> None:
    assert hosts.registrable_domain(host) == expected


@pytest.mark.parametrize("a, b, expected", [
    ("invoices.example.test", "cdn.example.test", True),
    ("invoices.example.test", "example.test", True),
    ("invoices.example.test", "stats.example.net", False),
    ("a.github.io", "b.github.io", False),
    ("js.stripe.com", "api.stripe.com", True),
    ("stripe.com", "stripe.network", False),
    ("127.0.0.1", "127.0.0.1", True),
    ("", "", False),
])
def test_same_site(a: str, b: str, expected: bool) -> None:
    assert hosts.same_site(a, b) is expected


def test_registrable_domain_never_fetches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The extractor must work from the bundled snapshot alone."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    hosts._extractor.cache_clear()
    hosts.registrable_domain.cache_clear()
    assert hosts.registrable_domain("checkout.shop.com.au") == "shop.com.au"


@pytest.mark.parametrize("value, expected", [
    ("127.0.0.1:8443", ("127.0.0.1", 8443)),
    ("127.0.0.1", ("127.0.0.1", None)),
    ("[::1]:8443", ("::1", 8443)),
    ("[::1]", ("::1", None)),
    ("::1", ("::1", None)),
])
def test_parse_address(value: str, expected: tuple[str, int | None]) -> None:
    assert hosts.parse_address(value) == expected


@pytest.mark.parametrize("value, message", [
    ("localhost:8443", "names are not resolved"),
    ("127.0.0.1:0", "port must be a number from 1 to 65535"),
    ("127.0.0.1:70000", "port must be a number from 1 to 65535"),
    ("127.0.0.1:http", "port must be a number from 1 to 65535"),
    ("[::1:8443", "missing ']'"),
    ("[::1]8443", "expected ':PORT' after ']'"),
    ("999.0.0.1", "names are not resolved"),
])
def test_parse_address_refuses(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        hosts.parse_address(value)
