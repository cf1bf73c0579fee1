"""Who may talk to the what-if server: only the page opened from the address ``run.py dashboard`` printed.

Listening on 127.0.0.1 keeps other machines out, not other web pages: any site the user visits can make the
browser open a websocket to 127.0.0.1 (browsers do not apply the same-origin policy to websockets) and
drive the page's server. :class:`Guard` wraps the whole ASGI app -- every HTTP route, the static files and
Solara's kernel websocket alike -- and refuses, before the app sees it:

* a request whose ``Origin`` header is present and is not the page's own origin (``http://127.0.0.1:PORT``
  or ``http://localhost:PORT``): browsers always send it on websocket handshakes and cross-site requests;
* a request whose ``Host`` is not that loopback address and port (a rebound DNS name);
* a request without the launch's token: a random string made at each start and printed in the page's
  address (``/?token=...``). The first load with it sets a cookie (HttpOnly, SameSite=Strict, one name
  per port, gone when the browser closes); later requests, the websocket included, carry the cookie or the
  token. Another site's page knows neither, and SameSite=Strict keeps the browser from adding the cookie
  to that page's requests (though not to those of a page served from another port of 127.0.0.1: SameSite
  ignores ports, which is one reason for the Origin check).

An HTTP request refused gets 403 with one line saying what to open; a websocket handshake is closed before
it is accepted (the server answers 403). Each kind of refusal is logged once for each origin or host.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_PARAM = "token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
REFUSED = (
    b"403 Forbidden: open the address run.py dashboard printed (the one ending in ?token=...). "
    b"Requests from other sites, or without that token, are refused.\n"
)
logger = logging.getLogger(__name__)


def cookie_name(port: int) -> str:
    """The token cookie's name: cookies are not kept apart by port, so two servers must not share one."""
    return f"whatif-token-{port}"


class Guard:
    """ASGI middleware: passes ``app`` only requests from the page's own origin that carry ``token``."""

    def __init__(self, app: ASGIApp, token: str, port: int, hosts: Sequence[str] = LOOPBACK_NAMES):
        if len(token) < 16:
            raise ValueError("the token must be at least 16 characters")
        self.app = app
        self.token = token.encode()
        self.cookie = cookie_name(port)
        at = "" if port == 80 else f":{port}"  # browsers leave out the default port
        self.origins = {f"http://{host}{at}" for host in hosts}
        self.hosts = {f"{host}{at}" for host in hosts}
        self._logged: set[tuple[str, str]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan: start-up and shut-down
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        from_query = self._matches(_query_token(scope))
        problem = self.problem(headers, from_query)
        if problem is not None:
            self._log_once(problem, headers.get("origin", "") or headers.get("host", ""))
            await self._refuse(scope, send)
            return
        if scope["type"] == "http" and from_query:
            await self.app(scope, receive, self._setting_cookie(send))
        else:
            await self.app(scope, receive, send)

    def problem(self, headers: dict[str, str], token_in_query: bool) -> str | None:
        """Why a request with these headers is refused (None: it may pass)."""
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return "a request from another origin"
        if headers.get("host") not in self.hosts:
            return "a request for another host name"
        if not (token_in_query or self._matches(_cookie(headers.get("cookie", ""), self.cookie))):
            return "a request without the page's token"
        return None

    def _matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.token)

    def _setting_cookie(self, send: Send) -> Send:
        """``send`` adding the token cookie to the response's headers (and keeping the address, token and
        all, out of the Referer of any request to another site)."""
        cookie = f"{self.cookie}={self.token.decode()}; Path=/; HttpOnly; SameSite=Strict".encode()
        added = [(b"set-cookie", cookie), (b"referrer-policy", b"same-origin")]

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        return wrapped

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            # closed before accept: the server answers the handshake with 403 (ASGI spec)
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(REFUSED))]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": REFUSED})

    def _log_once(self, problem: str, source: str) -> None:
        key = (problem, source[:200])
        if key not in self._logged and len(self._logged) < 100:  # a page retrying in a loop: one line
            self._logged.add(key)
            logger.warning("refused %s (%s; logged once for each)", problem, key[1] or "-")


def _headers(scope: Scope) -> dict[str, str]:
    """Header name -> value (latin-1, as HTTP has it); a repeated header keeps its first value, except
    Cookie, whose values are joined."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie" and name in out:
            out[name] += "; " + value
        else:
            out.setdefault(name, value)
    return out


def _query_token(scope: Scope) -> str | None:
    query = scope.get("query_string", b"").decode("latin-1")
    values = parse_qs(query).get(TOKEN_PARAM)
    return values[0] if values else None


def _cookie(header: str, name: str) -> str | None:
    """The value of cookie ``name`` in a Cookie header. Split by hand: ``http.cookies`` stops at the first
    cookie it finds malformed, and other sites on 127.0.0.1 may have set any."""
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip()
    return None
