"""The live what-if page for workshops (``python run.py dashboard``): pick a shipped scenario, move its
levers, step month by month and watch the gap and adoption shares against the baseline.

``levers`` (the levers and how they map onto a scenario) and ``session`` (one stepped what-if run) need
no web packages; ``app`` is the Solara page, ``server`` serves it behind ``guard`` (only the page opened
from the printed address, with its token, may talk to it) and ``cli`` starts the server (the ``dashboard``
extra).
"""

HOST = "127.0.0.1"  # the server listens on the loopback only
TOKEN_ENV = "SIMULATION_DASHBOARD_TOKEN"  # the launch's token, from cli.py to the server process

OUT_ENV = "SIMULATION_DASHBOARD_OUT"  # where "Save this run" writes (default: outputs)
ADOPTERS_ENV = "SIMULATION_DASHBOARD_ADOPTERS"  # simulated adopters (default: levers.ADOPTERS)
