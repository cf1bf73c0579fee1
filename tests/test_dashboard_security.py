"""The what-if server lets in only its own page, and the page reads nothing but shipped scenarios and never
shows a traceback. No browser: the guard is called as an ASGI app; the real server (``server.py``, Solara
behind the guard) is started on a free loopback port in a subprocess with a bounded lifetime and spoken to
over HTTP and websockets; the page is rendered in-process with ``solara.render`` and driven through its
widgets, as the websocket would drive them.
"""

from __future__ import annotations

import asyncio
import builtins
import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "solara", reason='the what-if page needs the dashboard extra: pip install -e ".[dashboard]"'
)

from simulation.config import ScenarioError, loader  # noqa: E402
from simulation.dashboard import ADOPTERS_ENV, TOKEN_ENV, app, cli, levers  # noqa: E402
from simulation.dashboard.app import (  # noqa: E402
    INTERNAL,
    LeverInputError,
    attempt,
    number,
    page_message,
    switch,
)
from simulation.dashboard.guard import REFUSED, Guard, cookie_name  # noqa: E402
from simulation.dashboard.levers import Levers, NotShipped, check_shipped, scenario_names  # noqa: E402
from simulation.dashboard.session import WhatIf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PORT, TOKEN = 8765, "test-token-0123456789abcdef"
OWN = f"http://127.0.0.1:{PORT}"
READY_S, IO_S = 60, 5
NOT_SHIPPED = [
    "/etc/passwd",
    "../scenarios/ban.yaml",
    "/dev/zero",
    "scenarios/ban.yaml",
    "ban.yaml",
    "",
    42,
    ["ban"],
]


# -- the guard as an ASGI app -----------------------------------------------------------------------------


def through_guard(
    kind: str = "http",
    query: str = "",
    origin: str | None = None,
    host: str = f"127.0.0.1:{PORT}",
    cookie: str | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """(messages the client was sent, whether the app behind the guard was reached) for one request."""
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    scope = {"type": kind, "path": "/", "query_string": query.encode(), "headers": headers}
    sent: list[dict[str, Any]] = []
    reached: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})
        else:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"the page"})

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"} if kind == "websocket" else {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(Guard(app, TOKEN, PORT)(scope, receive, send))
    return sent, bool(reached)


def set_cookies(sent: list[dict[str, Any]]) -> list[str]:
    return [v.decode() for k, v in sent[0].get("headers", []) if k == b"set-cookie"]


GOOD_COOKIE = f"other=1; {cookie_name(PORT)}={TOKEN}"


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "http://127.0.0.1:9999", "https://127.0.0.1:8765", OWN + ".evil"],
)
def test_a_websocket_from_another_origin_is_refused_even_with_the_cookie(origin: str) -> None:
    sent, reached = through_guard("websocket", origin=origin, cookie=GOOD_COOKIE)
    assert sent == [{"type": "websocket.close", "code": 1008}] and not reached  # closed before accept: 403


@pytest.mark.parametrize("cookie", [None, f"{cookie_name(PORT)}=wrong", f"{cookie_name(9999)}={TOKEN}"])
def test_a_websocket_without_the_token_is_refused(cookie: str | None) -> None:
    sent, reached = through_guard("websocket", origin=OWN, cookie=cookie)
    assert sent == [{"type": "websocket.close", "code": 1008}] and not reached


@pytest.mark.parametrize("origin", [OWN, f"http://localhost:{PORT}", None])
def test_a_websocket_with_the_cookie_or_token_from_the_page_is_accepted(origin: str | None) -> None:
    for sent, reached in (
        through_guard("websocket", origin=origin, cookie=GOOD_COOKIE),
        through_guard("websocket", origin=origin, query=f"session_id=x&token={TOKEN}"),
    ):
        assert reached and sent == [{"type": "websocket.accept"}]


def test_http_needs_the_token_which_sets_a_strict_httponly_cookie() -> None:
    sent, reached = through_guard()
    assert not reached and sent[0]["status"] == 403 and sent[1]["body"] == REFUSED
    assert through_guard(query="token=wrong")[0][0]["status"] == 403

    sent, reached = through_guard(query=f"token={TOKEN}")
    assert reached and sent[0]["status"] == 200 and sent[1]["body"] == b"the page"
    (cookie,) = set_cookies(sent)
    assert cookie == f"{cookie_name(PORT)}={TOKEN}; Path=/; HttpOnly; SameSite=Strict"
    assert (b"referrer-policy", b"same-origin") in sent[0]["headers"]  # the token stays on this site

    sent, reached = through_guard(cookie=GOOD_COOKIE)  # later requests: the cookie alone will do
    assert reached and sent[0]["status"] == 200 and set_cookies(sent) == []


def test_http_with_the_token_from_another_origin_or_host_is_refused() -> None:
    for kwargs in (
        {"origin": "http://evil.example"},
        {"host": f"evil.example:{PORT}"},
        {"host": "127.0.0.1"},
    ):
        sent, reached = through_guard(query=f"token={TOKEN}", **kwargs)
        assert not reached and sent[0]["status"] == 403


def test_lifespan_passes_and_a_short_token_is_not_accepted() -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["type"])

    async def nothing(*args: Any) -> Any:
        return {}

    asyncio.run(Guard(app, TOKEN, PORT)({"type": "lifespan"}, nothing, nothing))
    assert reached == ["lifespan"]
    with pytest.raises(ValueError):
        Guard(app, "short", PORT)


def test_run_py_dashboard_prints_the_token_address_and_hands_the_token_over_privately(
    monkeypatch, capsys
) -> None:
    started: list[tuple[list[str], dict[str, str]]] = []

    class Server:
        def __init__(self, command: list[str], env: dict[str, str]):
            started.append((command, env))

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(cli.subprocess, "Popen", Server)
    assert cli.main(["--port", "8801"]) == 0
    assert cli.main(["--port", "8801"]) == 0
    (first, env), (_, env_again) = started
    token = env[TOKEN_ENV]
    assert len(token) >= 40 and token != env_again[TOKEN_ENV]  # a new one at each launch
    assert not any(token in part for part in first)  # not on the command line, which every user can see
    assert capsys.readouterr().out.splitlines()[0] == f"What-if page: http://127.0.0.1:8801/?token={token}"


# -- the page: only shipped scenarios, never a traceback ----------------------------------------------------


def refuse_to_read(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"read {args[:1]}")


@pytest.fixture
def no_scenario_read(monkeypatch) -> None:
    """Fail the test if a scenario file is loaded or read."""
    monkeypatch.setattr(levers, "load_scenario", refuse_to_read)
    monkeypatch.setattr(loader, "read_yaml", refuse_to_read)


@pytest.fixture
def no_file_opened(monkeypatch, no_scenario_read) -> None:
    """Fail the test if any file is opened (not while rendering: widgets read their templates)."""
    monkeypatch.setattr(builtins, "open", refuse_to_read)


@pytest.mark.parametrize("value", NOT_SHIPPED)
def test_a_scenario_value_other_than_a_shipped_name_is_refused_before_reading(
    value: Any, no_file_opened
) -> None:
    started = time.perf_counter()
    said: list[str] = []
    assert not attempt(lambda: app.scenario_levers(value, 1), said.append, "levers")
    for refused in (
        lambda: check_shipped(value),
        lambda: levers.defaults(value),
        lambda: levers.build(Levers(scenario=value)),
        lambda: WhatIf(Levers(scenario=value), n_adopters=10),
    ):
        with pytest.raises(NotShipped):
            refused()
    assert time.perf_counter() - started < 1.0
    (message,) = said
    assert "is not a shipped scenario (one of: " in message and "baseline" in message
    assert len(message) < 400 and "\n" not in message and "Traceback" not in message


def test_a_long_refused_value_is_cut_short_in_the_message() -> None:
    with pytest.raises(NotShipped) as err:
        check_shipped("x" * 10_000)
    assert len(str(err.value)) < 400 and "..." in str(err.value)
    assert isinstance(err.value, ScenarioError)
    assert check_shipped("baseline") == "baseline" and "baseline" in scenario_names()


def test_an_unexpected_error_shows_a_plain_message_and_goes_to_the_terminal(caplog) -> None:
    def fails() -> None:
        raise RuntimeError("root:x:0:0:root:/root:/bin/bash")

    said: list[str] = []
    with caplog.at_level(logging.INFO, logger="simulation.dashboard.app"):
        assert not attempt(fails, said.append, "levers")
    assert said == [INTERNAL] == [page_message(RuntimeError("x"))]
    assert "root:x:0:0" in caplog.text and "Traceback" in caplog.text  # the terminal has it all

    multi = ScenarioError("scenarios/ban.yaml", "seed", "first line\nTraceback (most recent call last):")
    assert page_message(multi) == "scenarios/ban.yaml at seed: first line"
    assert len(page_message(ScenarioError(None, "x", "y" * 5000))) == 300
    for text in ("nan", "inf", "-1e999", "a" * 1000):
        with pytest.raises(LeverInputError) as err:
            number("Seed", text)
        assert len(str(err.value)) < 100
    with pytest.raises(LeverInputError):
        switch("Open-weight ban", "yes")


# -- the page rendered, driven through its widgets ----------------------------------------------------------


def widget_text(rc: Any) -> str:
    """Everything the rendered page's widgets would send to the browser."""
    import ipywidgets

    return "\n".join(json.dumps(w.get_state(), default=str) for w in rc.find(ipywidgets.Widget).widgets)


def alerts(rc: Any) -> list[str]:
    import ipyvuetify as v

    return [" ".join(map(str, w.children)) for w in rc.find(v.Alert).widgets]


@pytest.fixture
def page(monkeypatch) -> Iterator[Any]:
    """The page rendered in-process (few adopters); yields the render context."""
    import solara

    monkeypatch.setenv(ADOPTERS_ENV, "100")
    box, rc = solara.render(app.Page(), handle_error=False)
    try:
        yield rc
    finally:
        rc.close()


def test_the_page_refuses_a_path_set_in_its_scenario_selector(page, no_scenario_read) -> None:
    import ipyvuetify as v

    select = page.find(v.Select).widget
    for value in ("/etc/passwd", "/dev/zero"):
        select.v_model = value  # what a websocket message setting the selector does
        (message,) = alerts(page)
        assert message.startswith(f"Refused: scenario: {value!r} is not a shipped scenario")
        assert message.endswith("The run keeps the last accepted levers.")
    assert "Traceback" not in widget_text(page)


def test_a_failure_while_handling_input_or_drawing_shows_no_traceback(page, monkeypatch, caplog) -> None:
    import ipyvuetify as v

    def fails(*args: Any) -> None:
        raise RuntimeError("root:x:0:0:root:/root:/bin/bash")

    monkeypatch.setattr(WhatIf, "step", fails)
    with caplog.at_level(logging.ERROR, logger="simulation.dashboard.app"):
        page.find(v.Btn, children=["Run to end"]).widget.click()
        assert alerts(page) == [f"Run to end failed: {INTERNAL}."]

        monkeypatch.setattr(app, "status_line", fails)  # now drawing the page fails: the boundary
        page.find(v.Btn, children=["Reset"]).widget.click()
        assert alerts(page) == [f"The page stopped: {INTERNAL}."]
    text = widget_text(page)
    assert "Traceback" not in text and "root:x" not in text
    assert caplog.text.count("root:x:0:0") >= 2  # both went to the terminal, with their tracebacks


# -- the real server: Solara behind the guard (last: it boots while the tests above run) ----------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_S)  # no proxy from the environment
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@pytest.fixture(scope="module", autouse=True)
def server_process(tmp_path_factory) -> Iterator[tuple[subprocess.Popen, int, Path]]:
    """``python -m simulation.dashboard.server`` with the token TOKEN, started when this module's tests
    start (it boots while the others run) and always stopped: (process, port, log file)."""
    port = free_port()
    log = tmp_path_factory.mktemp("dashboard-server") / "server.log"
    env = {**os.environ, TOKEN_ENV: TOKEN, ADOPTERS_ENV: "100"}
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulation.dashboard.server", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc, port, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started
            proc.wait()


@pytest.fixture
def server(server_process) -> tuple[int, Path]:
    """(port, log file) of the server, once it answers (at most READY_S seconds)."""
    proc, port, log = server_process
    deadline = time.monotonic() + READY_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if get(port, f"/?token={TOKEN}").status == 200:
                return port, log
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server was not ready in {READY_S} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def logged(log: Path, line: str) -> str:
    """The server's terminal output once it holds ``line`` (it is written before the response that the
    test has already read, so this seldom waits); fails after IO_S seconds."""
    deadline = time.monotonic() + IO_S
    while line not in (said := log.read_text()):
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not write {line!r} in {IO_S} s:\n{said[-3000:]}")
        time.sleep(0.05)
    return said


def open_websocket(port: int, origin: str | None, cookie: str | None) -> int:
    """The HTTP status of a websocket handshake on Solara's kernel route (101: accepted, then closed)."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    uri = f"ws://127.0.0.1:{port}/jupyter/api/kernels/{uuid.uuid4()}/channels?session_id={uuid.uuid4()}"
    headers = {"Cookie": cookie} if cookie else {}
    try:
        with connect(uri, origin=origin, additional_headers=headers, proxy=None, open_timeout=IO_S) as ws:
            ws.close()
    except InvalidStatus as err:
        return err.response.status_code
    return 101


def test_the_real_server_guards_http_and_solaras_websocket(server) -> None:
    port, log = server
    cookie = f"{cookie_name(port)}={TOKEN}"
    own = f"http://127.0.0.1:{port}"

    assert get(port, "/").status == 403
    assert get(port, "/static/assets/theme.js").status == 403
    page = get(port, f"/?token={TOKEN}")
    assert page.status == 200
    assert f"{cookie}; Path=/; HttpOnly; SameSite=Strict" in page.headers.get_all("set-cookie")
    assert get(port, "/", {"Cookie": cookie}).status == 200
    assert get(port, "/", {"Cookie": cookie, "Origin": "http://evil.example"}).status == 403

    assert open_websocket(port, "http://evil.example", cookie) == 403
    assert open_websocket(port, own, None) == 403
    assert open_websocket(port, own, f"{cookie_name(port)}=wrong") == 403
    assert open_websocket(port, own, cookie) == 101

    said = logged(log, "refused a request from another origin")  # what the server had to say
    assert "samesite" not in said.lower(), said  # Solara's cookie warning is filtered
    assert "refused a request from another origin" in said
    assert "Traceback" not in said, said
