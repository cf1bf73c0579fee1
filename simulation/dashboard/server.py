"""The what-if page's web server: Solara's ASGI app behind :class:`~.guard.Guard`, served by uvicorn on
127.0.0.1. ``run.py dashboard`` (``cli.py``) starts it in a subprocess; by hand:
``python -m simulation.dashboard.server --port P``.

It does what ``solara run simulation/dashboard/app.py --production`` does -- the page named in SOLARA_APP,
Solara's production mode, uvicorn -- but wraps the app in the guard first, which ``solara run`` has no hook
for (it hands uvicorn the import string ``solara.server.starlette:app``). The launch's token comes from
the environment (SIMULATION_DASHBOARD_TOKEN, set by ``cli.py``); started by hand without it, the server
makes one and prints the page's address.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from . import HOST, TOKEN_ENV
from .guard import TOKEN_PARAM, Guard

PAGE_MODULE = "simulation.dashboard.app"  # imported as a module: no script folder put on sys.path
GRACEFUL_S = 3  # when stopped, uvicorn would otherwise wait for open browser tabs' websockets for ever
SOLARA_ENV = {  # no telemetry, no "runs on Solara" banner (and no PyPI version check: not `solara run`)
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_THEME_SHOW_BANNER": "False",
}
# The terminal shows our own records (a refused request, a page error with its traceback), and the web
# libraries' errors only, as `solara run` does.
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s", "datefmt": "%H:%M:%S"}
    },
    "handlers": {
        "terminal": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    },
    "loggers": {
        "simulation": {"handlers": ["terminal"], "level": "INFO", "propagate": False},
        "solara": {"handlers": ["terminal"], "level": "ERROR", "propagate": False},
        "reacton": {"handlers": ["terminal"], "level": "ERROR", "propagate": False},
        "uvicorn": {"handlers": ["terminal"], "level": "ERROR", "propagate": False},
        "uvicorn.access": {"handlers": ["terminal"], "level": "ERROR", "propagate": False},
    },
}


def page_url(port: int, token: str) -> str:
    """The address to open: the page with the launch's token."""
    return f"http://{HOST}:{port}/?{TOKEN_PARAM}={token}"


def quiet_solara() -> None:
    """Silence Solara's cookie warning, which is about a setup we do not use.

    On every page load served over plain http from a host other than ``localhost`` (ours: 127.0.0.1),
    ``solara.server.starlette.root`` warns, in 12 lines, that its session cookie falls back from
    SameSite=None (wanted when a page is embedded in another site's iframe; needs https) to SameSite=Lax.
    This page is never embedded and is meant to be plain http on the loopback, so Lax is what we want and
    there is nothing to fix. Python would show a warning once, but the once-registry is cleared whenever any
    library touches the warning filters (matplotlib and pandas do, all the time), so it came back on each
    browser connection. Only this warning from that module is filtered.
    """
    warnings.filterwarnings(
        "ignore",
        message="Cookies with samesite=none require https",
        category=UserWarning,
        module=r"solara\.server\.starlette",
    )


def asgi_app(token: str, port: int) -> Guard:
    """Solara's app serving the what-if page, behind the guard. Imports the Solara server: call it in the
    server's own process (the import patches IPython, ipywidgets and matplotlib's backend globally)."""
    for name, value in SOLARA_ENV.items():
        os.environ.setdefault(name, value)
    os.environ["SOLARA_APP"] = PAGE_MODULE  # read when solara.server.app is first imported
    import solara.server.starlette
    from solara.server import settings

    settings.main.mode = "production"
    return Guard(solara.server.starlette.app, token, port)


def serve(port: int, token: str) -> None:
    """Serve the page on 127.0.0.1:``port`` until stopped (Ctrl-C or SIGTERM)."""
    import uvicorn

    quiet_solara()
    config = uvicorn.Config(
        asgi_app(token, port),
        host=HOST,
        port=port,
        log_config=LOGGING,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_S,
    )
    uvicorn.Server(config).run()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m simulation.dashboard.server", description=__doc__)
    p.add_argument("--port", type=int, default=8765, metavar="P", help="port (default 8765)")
    args = p.parse_args(argv)
    token = os.environ.get(TOKEN_ENV)
    if not token:
        token = secrets.token_urlsafe(32)
        print(f"What-if page: {page_url(args.port, token)}", flush=True)
    serve(args.port, token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
