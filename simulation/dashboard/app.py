"""The live what-if page (Solara): pick a shipped scenario, move its levers, step or play month by month,
watch the gap and adoption shares against the baseline, save the run for ``run.py compare``.

Started by ``python run.py dashboard`` (``cli.py``), which serves it behind the guard (``server.py``).
Settings come from the environment: ``SIMULATION_DASHBOARD_OUT`` (where saved runs go, default
``outputs``) and ``SIMULATION_DASHBOARD_ADOPTERS`` (default 3,000). Each browser tab has its own run.
Only plain HTML and Vuetify widgets are used (no Markdown: its math renderer is not in solara-assets).

Whatever comes from the page is checked before use: a scenario must be a shipped one's name (nothing else
is read), a number must be a finite number, a checkbox on or off; the loader judges the rest. A refusal
is one plain line on the page; any other failure shows only "internal error, see the terminal" and its
traceback goes to the terminal, never to the page (``attempt``, and the error boundary ``Page``).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import replace
from html import escape
from typing import Any

import pandas as pd
import solara

from simulation.config import ScenarioError
from simulation.dashboard import ADOPTERS_ENV, OUT_ENV, chart
from simulation.dashboard.levers import (
    ADOPTERS,
    Levers,
    check_shipped,
    defaults,
    event_dates,
    member_candidates,
    scenario_names,
    shipped,
)
from simulation.dashboard.session import WhatIf

START_SCENARIO = "baseline"
PLAY_PAUSE_S = 0.25
SAVE_REPLICATES, MAX_REPLICATES = 10, 100
NUMBER_LEVERS = (  # Levers field, label, hint
    ("china_capital", "Chinese capital multiplier", "1 = normal; 0.2 = sharp squeeze"),
    ("china_compute_price", "Chinese compute price multiplier", "export controls; 1 = world price"),
    ("distillation_efficacy", "Distillation efficacy", "share of the gap to the teacher closed a month"),
)
CSS = """
.whatif-page { padding: 8px 24px; }
.whatif-presenting { padding: 4px 12px; max-width: none; }
.whatif-presenting h1 { font-size: 1.8rem; margin: 0 0 4px; }
.whatif-presenting .whatif-status { font-size: 1.35rem; }
.whatif-status { font-size: 1.05rem; margin: 4px 0 8px; }
.whatif-chart { width: 100%; }
.whatif-chart img { width: 100%; height: auto; display: block; }
"""
INTERNAL = "internal error, see the terminal"  # all the page says of an unexpected failure
MESSAGE_CHARS, TEXT_SHOWN = 300, 40  # longest message shown; characters of refused input echoed
logger = logging.getLogger("simulation.dashboard.app")  # not __name__: the server may load this as a script


class LeverInputError(ValueError):
    """Input in a lever field that is not what it must be (not a number, not on/off). The loader judges
    the values; this judges the text."""


def shown(text: str) -> str:
    """Refused text as echoed in a message: quoted, and cut short."""
    return repr(text[:TEXT_SHOWN]) + ("..." if len(text) > TEXT_SHOWN else "")


def number(label: str, text: str, kind: type[float] | type[int] = float) -> Any:
    """The number typed in a field, or LeverInputError naming the field (NaN and infinities included)."""
    text = str(text).strip()
    what = "a whole number" if kind is int else "a number"
    try:
        value = kind(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise LeverInputError(f"{label}: {shown(text)} is not {what}") from None
    if not math.isfinite(value):
        raise LeverInputError(f"{label}: {shown(text)} is not a finite number")
    return value


def switch(label: str, value: object) -> bool:
    """A checkbox's value: True or False, nothing else (the page's widgets send only these)."""
    if not isinstance(value, bool):
        raise LeverInputError(f"{label}: expected on or off, got a {type(value).__name__}")
    return value


def scenario_levers(name: object, seed: int) -> Levers:
    """The levers of the scenario picked in the selector, keeping the seed. A value that is not a shipped
    scenario's name (a path, say) is refused (NotShipped, a ScenarioError) before anything is read."""
    return replace(defaults(check_shipped(name)), seed=seed)


def page_message(err: BaseException) -> str:
    """What the page says about ``err``: the one-line message of a refusal (the loader's ScenarioError or a
    LeverInputError), cut to MESSAGE_CHARS; for anything else only INTERNAL."""
    if not isinstance(err, (ScenarioError, LeverInputError)):
        return INTERNAL
    lines = str(err).strip().splitlines()
    line = lines[0].strip() if lines else type(err).__name__
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 3] + "..."


def attempt(action: Callable[[], Any], say: Callable[[str], None], what: str) -> bool:
    """Run ``action`` for input from the page; True when it went through. On failure ``say`` gets
    :func:`page_message` and the terminal gets a line (with the traceback when it was not a refusal)."""
    try:
        action()
    except (ScenarioError, LeverInputError) as err:
        logger.info("what-if page: %s refused: %s", what, page_message(err))
        say(page_message(err))
        return False
    except Exception:
        logger.exception("what-if page: %s failed", what)
        say(INTERNAL)
        return False
    return True


@solara.component
def TextLever(
    label: str, value: str, on_text: Callable[[str], None], css: str, hint: str = "", width: str = ""
) -> Any:
    """A text field taken when Enter is pressed or the field is left. Vuetify's ``change`` event carries
    the text itself (the synced value can lag behind fast typing)."""
    field = solara.v.TextField(
        label=label,
        v_model=value,
        class_=css,
        hint=hint,
        persistent_hint=bool(hint),
        style_=f"max-width: {width}" if width else "",
    )
    solara.v.use_event(field, "change", lambda widget, event, data: on_text(str(data)))
    return field


@solara.component
def LeverPanel(
    levers: Levers,
    generation: int,
    whatif: WhatIf,
    submit: Callable[[Callable[[], Levers]], None],
) -> None:
    """The scenario and its ``levers``; each edit goes to ``submit`` as a function making the new levers
    (which may refuse the input). The fields are made anew for each ``generation`` (of accepted levers), so
    after a refusal the next accepted edit clears refused text."""
    base = shipped(levers.scenario)
    dates = event_dates(base)

    def change(**values: Any) -> None:
        submit(lambda: replace(whatif.levers, **values))

    def typed(label: str, field: str, kind: type[float] | type[int] = float) -> Callable[[str], None]:
        def on_text(text: str) -> None:
            submit(lambda: replace(whatif.levers, **{field: number(label, text, kind)}))

        return on_text

    def member(lab: str) -> Callable[[bool], None]:
        def on_value(on: bool) -> None:
            def members() -> Levers:
                kept = [m for m in whatif.levers.consortium_members if m != lab]
                chosen = [*kept, lab] if switch(lab, on) else kept
                return replace(whatif.levers, consortium_members=tuple(sorted(chosen)))

            submit(members)

        return on_value

    solara.HTML("h2", "Levers")
    solara.Select(
        "Scenario",
        values=scenario_names(),
        value=levers.scenario,
        on_value=lambda name: submit(lambda: scenario_levers(name, whatif.levers.seed)),
    )
    solara.HTML("p", f"<i>{escape(base.description)}</i>")
    TextLever("Seed", str(levers.seed), typed("Seed", "seed", int), "lever-seed").key(f"seed-{generation}")
    with solara.Div(classes=["lever-ban"]).key(f"ban-{generation}"):
        solara.Checkbox(
            label=f"Open-weight ban ({base.policy.ban.jurisdiction.upper()})",
            value=levers.ban,
            on_value=lambda on: submit(lambda: replace(whatif.levers, ban=switch("Open-weight ban", on))),
        )
    TextLever(
        "Ban from (YYYY-MM)", levers.ban_from, lambda t: change(ban_from=str(t).strip()), "lever-ban_from"
    ).key(f"ban_from-{generation}")
    TextLever(
        "Ban threshold (training FLOP)",
        f"{levers.ban_threshold_flop:g}",
        typed("Ban threshold", "ban_threshold_flop"),
        "lever-ban_threshold_flop",
    ).key(f"threshold-{generation}")
    for field, label, hint in NUMBER_LEVERS:
        since = f"from {dates[field]}" if field in dates else "from the start"
        value = f"{getattr(levers, field):g}"
        TextLever(label, value, typed(label, field), f"lever-{field}", f"{hint}; {since}").key(
            f"{field}-{generation}"
        )
    if levers.consortium_budget_musd is None:
        solara.Text("Consortium levers: pick sovereign_consortium.", style={"color": "#555"})
    else:
        TextLever(
            "Consortium budget ($M a month)",
            f"{levers.consortium_budget_musd:g}",
            typed("Consortium budget", "consortium_budget_musd"),
            "lever-consortium_budget_musd",
        ).key(f"budget-{generation}")
        solara.Text("Members the consortium tops up:")
        for lab in member_candidates(base):
            with solara.Div(classes=[f"lever-member-{lab}"]).key(f"{lab}-{generation}"):
                solara.Checkbox(label=lab, value=lab in levers.consortium_members, on_value=member(lab))
    solara.Button(
        "Scenario's own levers",
        on_click=lambda: submit(lambda: defaults(whatif.levers.scenario)),
        outlined=True,
        classes=["lever-defaults"],
    )


def status_line(run: pd.DataFrame, baseline: pd.DataFrame) -> None:
    """This month's figures as text, and as data attributes for tests and scripts."""
    now = run.iloc[-1]
    ref = baseline.iloc[min(int(now["tick"]), len(baseline) - 1)]
    attrs = {
        "data-tick": str(int(now["tick"])),
        "data-date": str(now["date"]),
        "data-gap-true": f"{now['gap_months_true']:.4f}",
        "data-gap-benchmark": f"{now['gap_months_benchmark']:.4f}",
        "data-open-share": f"{now['open_share_usage']:.4f}",
        "data-baseline-gap-true": f"{ref['gap_months_true']:.4f}",
    }
    text = (  # the benchmark gap first: it is what data can check; the true gap rests on the assumed focus
        f"{now['date']}: gap <b>{now['gap_months_benchmark']:.1f}</b> months on benchmark scores "
        f"(baseline {ref['gap_months_benchmark']:.1f}), <b>{now['gap_months_true']:.1f}</b> on true "
        f"capability, given the assumed benchmark focus (baseline {ref['gap_months_true']:.1f}); open models "
        f"<b>{now['open_share_usage']:.0%}</b> of usage (baseline {ref['open_share_usage']:.0%})"
    )
    solara.HTML("div", text, classes=["whatif-status"], attributes=attrs)


@solara.component
def Page() -> None:
    """The page behind an error boundary: a failure no handler caught (while drawing the page, say) shows
    only INTERNAL and a button to start again; its traceback goes to the terminal, not to the page."""
    error, clear = solara.use_exception()

    def log() -> None:
        if error is not None:
            logger.error("what-if page: the page failed", exc_info=error)

    solara.use_effect(log, [error])
    if error is None:
        WhatIfPage()
        return
    solara.Title("What if? Open-weight vs closed AI")
    with solara.Div(classes=["whatif-page"]):
        solara.Error(f"The page stopped: {INTERNAL}.", classes=["whatif-failed"])
        solara.Button("Start again", on_click=clear, color="primary", classes=["do-restart"])


@solara.component
def WhatIfPage() -> None:
    """The levers, the controls, the chart and saving, for this tab's own what-if run."""
    adopters = int(os.environ.get(ADOPTERS_ENV, ADOPTERS))
    whatif = solara.use_memo(lambda: WhatIf(defaults(START_SCENARIO), n_adopters=adopters), [])
    rev = solara.use_reactive(0)  # bumped whenever the run changes
    accepted = solara.use_reactive(0)  # bumped when levers are accepted: fields show the accepted values
    refused = solara.use_reactive("")
    playing = solara.use_reactive(False)
    replicates = solara.use_reactive(str(SAVE_REPLICATES))

    def bump() -> None:
        rev.set(rev.value + 1)

    def submit(make: Callable[[], Levers]) -> None:
        """New levers from the page: made (checking the input) and applied, or refused in one line while
        the run keeps the last accepted ones."""

        def say(message: str) -> None:
            refused.set(f"Refused: {message}. The run keeps the last accepted levers.")

        if attempt(lambda: whatif.apply(make()), say, "levers"):
            refused.set("")
            accepted.set(accepted.value + 1)
            bump()

    def say_failed(what: str) -> Callable[[str], None]:
        return lambda message: refused.set(f"{what} failed: {message}.")

    loop_id = solara.use_ref(0)  # the newest play loop; older ones stop

    def play_loop() -> None:
        loop_id.current += 1
        mine = loop_id.current
        moved = [True]

        def step() -> None:
            moved[0] = whatif.step()

        while playing.value and loop_id.current == mine:
            if not attempt(step, say_failed("Play"), "play") or not moved[0]:
                playing.set(False)
                return
            bump()
            time.sleep(PLAY_PAUSE_S)

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def save() -> str:
        try:
            count = number("Replicates to save", replicates.value, int)
            if not 1 <= count <= MAX_REPLICATES:
                raise LeverInputError(f"Replicates to save: expected 1 to {MAX_REPLICATES}, got {count}")
            return str(whatif.save(os.environ.get(OUT_ENV, "outputs"), count))
        except (ScenarioError, LeverInputError) as err:
            logger.info("what-if page: saving refused: %s", page_message(err))
            raise
        except Exception:  # shown as INTERNAL (page_message); the traceback only here
            logger.exception("what-if page: saving failed")
            raise

    save_task = solara.lab.use_task(save, dependencies=None, raise_error=False)

    def control(what: str, action: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            attempt(action, say_failed(what), what.lower())
            bump()

        return run

    run, baseline = whatif.series(), whatif.baseline()
    scenario = whatif.scenario
    presenting = solara.use_reactive(False)  # the presentation layout: the chart across the whole width
    figure = solara.use_memo(
        lambda: chart.figure(
            run,
            baseline,
            list(scenario.blocs),
            [e.model_dump() for e in scenario.events],
            (scenario.start, scenario.date_of(whatif.horizon)),
            presentation=presenting.value,
        ),
        [rev.value, presenting.value],
    )
    said = whatif.changes()

    def controls() -> None:
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            busy = playing.value or whatif.done
            solara.Button(
                "Reset",
                on_click=control("Reset", whatif.reset),
                disabled=playing.value,
                classes=["do-reset"],
            )
            solara.Button(
                "Step",
                on_click=control("Step", whatif.step),
                disabled=busy,
                color="primary",
                classes=["do-step"],
            )
            solara.Button(
                "Pause" if playing.value else "Play",
                on_click=lambda: playing.set(not playing.value),
                disabled=whatif.done and not playing.value,
                color="primary",
                classes=["do-play"],
            )
            solara.Button(
                "Run to end",
                on_click=control("Run to end", lambda: whatif.step(whatif.horizon)),
                disabled=busy,
                classes=["do-end"],
            )
            solara.Text(f"{scenario.date_of(whatif.tick)}: month {whatif.tick} of {whatif.horizon}")
            solara.Switch(label="Presentation layout", value=presenting, classes=["do-present"])

    def results() -> None:
        status_line(run, baseline)
        if refused.value:
            solara.Error(refused.value, classes=["whatif-refused"])
        with solara.Div(classes=["whatif-chart"]):
            solara.FigureMatplotlib(figure, dependencies=[rev.value, presenting.value], format="png", dpi=90)
        solara.HTML(
            "p",
            f"<b>{escape(whatif.levers.scenario)}</b> "
            + escape("with " + "; ".join(said) if said else "as shipped")
            + f". One run at seed {scenario.seed}, uncertain parameters at their central values, "
            f"<b>{whatif.n_adopters:,} adopters</b> (a full run has "
            f"{shipped(whatif.levers.scenario).adopters.n:,}). Faint: the baseline with the same "
            "seed and adopters; dotted lines: the scenario's events.",
            classes=["whatif-changes"],
        )

    def saving() -> None:
        with solara.Row(style={"align-items": "center"}):
            TextLever(
                "Replicates to save", replicates.value, replicates.set, "save-replicates", width="160px"
            )
            solara.Button(
                "Save this run",
                on_click=lambda: save_task(),
                disabled=save_task.pending,
                color="primary",
                classes=["do-save"],
            )
        if save_task.pending:
            solara.Info("Saving: running the replicates and writing the run folder...")
        elif save_task.finished:
            folder = save_task.value
            solara.Success(
                f"Saved to {folder} (python run.py compare {folder} OTHER_RUN puts it beside another run)",
                classes=["whatif-saved"],
            )
        elif save_task.error:
            solara.Error(f"Not saved: {page_message(save_task.exception)}", classes=["whatif-save-error"])

    solara.Title("What if? Open-weight vs closed AI")
    solara.Style(CSS)
    title = "What if? Open-weight vs closed AI, month by month"
    if presenting.value:  # for a projector: the chart across the page, the levers folded below it
        with solara.Div(classes=["whatif-page", "whatif-presenting"]):
            solara.HTML("h1", title)
            controls()
            results()
            with solara.Details("Levers and saving", expand=False):
                LeverPanel(whatif.levers, accepted.value, whatif, submit)
                saving()
        return
    with solara.Div(classes=["whatif-page"]), solara.Columns([1, 3]):
        with solara.Column():
            LeverPanel(whatif.levers, accepted.value, whatif, submit)
        with solara.Column():
            solara.HTML("h1", title)
            controls()
            results()
            saving()
