"""``python run.py dashboard [--port P] [--out DIR] [--adopters N]``: serve the what-if page on 127.0.0.1.

Makes a random token for this launch, prints the page's address with it (``http://127.0.0.1:P/?token=...``:
the server refuses requests without it, see ``guard.py``), starts the server (``server.py``) in a
subprocess and waits for it; Ctrl-C stops it. Needs the ``dashboard`` extra; without Solara it prints how to
install it and returns 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from . import ADOPTERS_ENV, OUT_ENV, TOKEN_ENV
from .server import SOLARA_ENV, page_url

EXIT_USAGE = 2
INSTALL_HINT = 'run.py dashboard needs Solara: pip install -e ".[dashboard]"'


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run.py dashboard",
        description="Serve the live what-if page on 127.0.0.1: move a scenario's levers, step month by "
        "month, watch the gap and adoption against the baseline, save runs for run.py compare. Open the "
        "address it prints: it carries this launch's token, without which the server refuses requests.",
    )
    p.add_argument("--port", type=int, default=8765, metavar="P", help="port (default 8765)")
    p.add_argument("--out", default="outputs", metavar="DIR", help="where saved runs go (default: outputs)")
    p.add_argument(
        "--adopters",
        type=int,
        default=3000,
        metavar="N",
        help="simulated adopters (default 3,000: responsive)",
    )
    return p


def command(port: int) -> list[str]:
    """The server command line (the token goes in the environment: a command line is visible to every user
    of the machine)."""
    return [sys.executable, "-m", "simulation.dashboard.server", "--port", str(port)]


def main(argv: Sequence[str] | None = None) -> int:
    """Start the server and wait for it; returns its exit code (2: usage error or Solara missing)."""
    try:
        args = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2, message already printed)
        return int(exc.code or 0)
    if importlib.util.find_spec("solara") is None:
        print(INSTALL_HINT, file=sys.stderr)
        return EXIT_USAGE
    if args.adopters < 10 or not 0 < args.port < 65536:
        print(
            "run.py dashboard: error: --adopters must be at least 10 and --port 1 to 65535", file=sys.stderr
        )
        return EXIT_USAGE
    token = secrets.token_urlsafe(32)  # a new one at each launch
    env = {
        **os.environ,
        **SOLARA_ENV,
        OUT_ENV: str(Path(args.out).resolve()),
        ADOPTERS_ENV: str(args.adopters),
        TOKEN_ENV: token,
    }
    print(f"What-if page: {page_url(args.port, token)}", flush=True)
    print(
        "Open that address (the server refuses requests without its token); Ctrl-C stops it; saved runs "
        f"go to {env[OUT_ENV]}",
        flush=True,
    )
    previous = signal.getsignal(signal.SIGTERM)
    server = subprocess.Popen(command(args.port), env=env)
    with contextlib.suppress(ValueError):  # not the main thread: leave SIGTERM alone
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the server too, not only Ctrl-C
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        return 130
    finally:
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":  # python -m simulation.dashboard.cli, until run.py dashboard is wired
    raise SystemExit(main())
