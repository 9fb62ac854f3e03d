"""Which requests `handprop serve` answers: those addressed to its own names, and, to compute or write,
those sent by its own page.

Two ways a web page elsewhere could otherwise use the server from the visitor's browser:

- **DNS rebinding**: a name the other site controls is pointed at this machine, and the browser then
  treats the server as that site. Its requests carry that name in `Host`, so only the names the server
  is really reached by are answered (`served_names`).
- **cross-site requests**: a form, an `<img>` or a `fetch` on another site can send a request here
  (its answer unread, but its work done). A request that computes or writes must carry the page's own
  origin (`from_page`), and a JSON body, which another site cannot send without a CORS preflight that
  this server never grants.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")  # every interface of this machine
DEFAULT_PORTS = {"http": 80, "https": 443}


def normal(name: str) -> str:
    """A host name or address as compared: lower case, without brackets or a final dot, an IP address in
    its shortest form.

    >>> [normal(n) for n in ("LocalHost.", "[::1]", "0:0:0:0:0:0:0:1", "127.0.0.1")]
    ['localhost', '::1', '::1', '127.0.0.1']
    """
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        return name.rstrip(".")


def split_host(value: str) -> tuple[str, int | None] | None:
    """The name and port of a `Host` header (or of a URL's host part); None when it is malformed.

    An IPv6 address is written in brackets there, so its colons are not the port's.

    >>> split_host("[::1]"), split_host("[::1]:8765"), split_host("localhost:80"), split_host("a:b:c")
    (('::1', None), ('::1', 8765), ('localhost', 80), None)
    """
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[:end + 1], value[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:]
    elif value.count(":") > 1:  # an IPv6 address without brackets, which no browser sends
        return None
    else:
        host, _, port = value.partition(":")
    if not host.strip("[]") or (port and not (port.isascii() and port.isdigit() and int(port) <= 65535)):
        return None
    return normal(host), int(port) if port else None


def machine_names() -> set[str]:
    """This machine's names and addresses, as far as the standard library can tell (it lists no interfaces)."""
    import socket

    names = set()
    for name in {socket.gethostname(), socket.getfqdn()}:
        names.add(name)
        try:
            names.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
        except (OSError, UnicodeError):
            pass
    # The address of the interface that leads to other networks (connecting a UDP socket sends nothing):
    # the host name often resolves only to a loopback address.
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probing:
                probing.connect((probe, 9))
                names.add(probing.getsockname()[0])
        except OSError:
            pass
    return names


def served_names(bind: str, allowed=()) -> frozenset[str]:
    """The host names a server listening on `bind` answers, and those `allowed` besides (`--allow-host`).

    On a loopback address: the loopback names; on one address: that address; on every interface
    (0.0.0.0, ::): the loopback names and this machine's names and addresses. The address listened on
    is always among them, since the server prints its address with it.

    >>> sorted(served_names("127.0.0.1")), sorted(served_names("192.168.1.5", ["pc.lan"]))
    (['127.0.0.1', '::1', 'localhost'], ['192.168.1.5', 'pc.lan'])
    """
    names = {bind}
    if bind in LOOPBACK:
        names.update(LOOPBACK)
    elif bind in WILDCARD:
        names.update(LOOPBACK)
        names.update(machine_names())
    names.update(allowed)
    return frozenset(normal(name) for name in names if name)


def from_page(origin: str | None, referer: str | None, host: str, server_port: int | None,
              names: frozenset[str]) -> bool:
    """Whether a request that computes or writes comes from the page itself.

    Its `Origin` (or, without one, its `Referer`) must name one of the served `names`, at the server's
    port or at the port the request was addressed to (`host`, its Host header: the same server reached
    through a forwarded port). Browsers send one of the two with every cross-site request that can have
    a body; a request with neither comes from a program, not from another site's page.

    >>> names = served_names("127.0.0.1")
    >>> from_page("http://127.0.0.1:8765", None, "127.0.0.1:8765", 8765, names)
    True
    >>> [from_page(o, None, "localhost:8765", 8765, names) for o in ("http://evil.example", "null",
    ...                                                               "http://localhost:9999")]
    [False, False, False]
    """
    value = origin if origin is not None else referer
    if value is None:
        return True
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    where = split_host(parts.netloc.rpartition("@")[2]) if parts.scheme in DEFAULT_PORTS else None
    if where is None or where[0] not in names:
        return False
    port = where[1] or DEFAULT_PORTS[parts.scheme]
    addressed = split_host(host)
    return port == server_port or (addressed is not None and port == (addressed[1] or DEFAULT_PORTS[parts.scheme]))
