"""The live what-if page for workshops (``python run.py dashboard``): pick a shipped scenario, move its
levers, step month by month and watch the gap and adoption shares against the baseline.

``levers`` (the levers and how they map onto a scenario) and ``session`` (one stepped what-if run) need
no web packages; ``app`` is the Solara page and ``cli`` starts its server (the ``dashboard`` extra).
"""

OUT_ENV = "SIMULATION_DASHBOARD_OUT"  # where "Save this run" writes (default: outputs)
ADOPTERS_ENV = "SIMULATION_DASHBOARD_ADOPTERS"  # simulated adopters (default: levers.ADOPTERS)
