"""Command line: ``python run.py SCENARIO.yaml [MORE.yaml ...] [options]``.

Runs each scenario's replicates (in parallel) and writes one run folder per scenario (see ``outputs.py``).
Several scenarios in one command share the root seed, so replicate ``i`` of each draws the same random
numbers (common random numbers) and differences between scenarios are not sampling noise. Every file is
validated before anything runs.

``python run.py compare RUN_DIR RUN_DIR [...]`` compares saved runs (see ``compare.py``); several scenarios
in one run command are compared automatically, the first as the reference.

Exit codes: 0 done; 2 a bad scenario file, runs that cannot be compared, or usage; 130 interrupted (Ctrl-C).

This module imports only the scenario loader and the comparison code at start-up: ``--check`` and
``--list`` never load Mesa or matplotlib. Simulation and output modules are imported when a run starts.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .compare import ALIGN_CHOICES, CompareError, build, load_runs, write_comparison
from .config import Scenario, ScenarioError, load_scenario, with_changes
from .config.loader import SCENARIO_DIR, resolve_file

if TYPE_CHECKING:
    from .experiments import Results

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130

# Key indicators printed after a run: (summary indicator, label with unit, multiplier).
KEY_INDICATORS: list[tuple[str, str, float]] = [
    ("gap_months_true_end", "Gap, true capability (months)", 1),
    ("gap_months_benchmark_end", "Gap, benchmark scores (months)", 1),
    ("gap_months_true_mean", "Gap averaged over the run, true (months)", 1),
    ("open_share_usage_end", "Open models' share of usage (%)", 100),
    ("open_share_spend_end", "Open models' share of spending (%)", 100),
    ("top_open_share_of_open_usage_end", "Top open lab's share of open usage (%)", 100),
    ("hhi_usage_end", "Usage concentration (HHI, 0-1)", 1),
    ("frontier_compute_growth_per_year", "Largest training run, growth (x a year)", 1),
]
BLOC_INDICATOR = "open_usage_share_origin_{bloc}_end"
BLOC_LABELS = {"us": "US", "eu": "EU", "china": "Chinese"}

# Subcommands to come. Each will get its own parser and function in COMMANDS; until then they are
# recognised (so a scenario file is never mistaken for one) and refused.
FUTURE_COMMANDS: tuple[str, ...] = ()
COMMANDS: dict[str, Callable[[list[str]], int]] = {}  # filled below each command's function


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``run.py``; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        return COMMANDS[args[0]](args[1:])
    if args and args[0] in FUTURE_COMMANDS:
        print(f"run.py {args[0]}: not yet available", file=sys.stderr)
        return EXIT_USAGE
    return run_command(args)


# -- the run command -------------------------------------------------------------------------------------


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Run scenarios of the open-weight vs closed AI ecosystem simulation and save each "
        "run (tables, summary, figures, manifest) in a new folder.",
        epilog="A scenario is a YAML file or the name of a shipped one (see --list). Several scenarios "
        "in one command use the same seeds (common random numbers). Other commands (each with --help): "
        "compare RUN RUN... (side by side, report.html); runs (list saved runs); params [SCENARIO] (every "
        "parameter); levers [SCENARIO] (what each policy lever does); findings (what the named scenarios do); sweep SPEC.yaml (sweeps and "
        "sensitivity); calibrate SPEC.yaml (fit parameters to data, ABC-SMC); dashboard (live what-if page).",
    )
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenario YAML files or names")
    parser.add_argument("--replicates", type=positive_int, metavar="N", help="replicates per scenario")
    parser.add_argument(
        "--seed", type=non_negative_int, metavar="S", help="root seed shared by all scenarios"
    )
    parser.add_argument("--months", type=positive_int, metavar="M", help="simulated months")
    parser.add_argument("--adopters", type=positive_int, metavar="N", help="number of simulated adopters")
    parser.add_argument(
        "--jobs", type=non_negative_int, metavar="J", help="worker processes (default: all cores; 1: serial)"
    )
    parser.add_argument("--out", default="outputs", metavar="DIR", help="output folder (default: outputs)")
    parser.add_argument("--check", action="store_true", help="only validate the files, run nothing")
    parser.add_argument("--list", action="store_true", help="list the shipped scenarios")
    return parser


def positive_int(text: str) -> int:
    value = int_arg(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    value = int_arg(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0, got {text!r}")
    return value


def int_arg(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def run_command(argv: list[str]) -> int:
    parser = run_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, message already printed)
        return int(exc.code or 0)
    try:
        if args.list:
            return list_scenarios()
        if not args.scenarios:
            parser.print_usage(sys.stderr)
            print("run.py: error: give at least one scenario file (or --list)", file=sys.stderr)
            return EXIT_USAGE
        try:
            scenarios = [validate(path, args) for path in args.scenarios]
        except ScenarioError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_USAGE
        if args.check:
            for path, scenario in zip(args.scenarios, scenarios, strict=True):
                print(f"ok: {path} ({scenario.name})")
            return EXIT_OK
        return run_all(scenarios, args, argv)
    except KeyboardInterrupt:
        print("\ninterrupted: no partial run folder was left behind", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into a program that stopped reading (e.g. `head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1


def validate(path: str, args: argparse.Namespace) -> Scenario:
    """Load one file and apply the command-line changes; any problem is a ScenarioError naming the file."""
    from .experiments.runner import prepare  # no Mesa: the model is imported only when a replicate runs

    scenario = load_scenario(path)
    try:
        scenario = prepare(scenario, months=args.months, n_adopters=args.adopters)
        given = {"replicates": args.replicates, "seed": args.seed}  # the schema's bounds, as in a file
        return with_changes(scenario, {k: v for k, v in given.items() if v is not None})
    except ScenarioError as err:
        option = OPTIONS.get(err.key_path, err.key_path)
        raise ScenarioError(resolve_file(path), option, err.problem) from None


OPTIONS = {"months": "--months", "adopters.n": "--adopters", "replicates": "--replicates", "seed": "--seed"}


def run_all(scenarios: list[Scenario], args: argparse.Namespace, argv: list[str]) -> int:
    from .experiments import simulate
    from .outputs import NonFiniteResultsError, RunFolderError, write_run

    problem = unwritable(Path(args.out))
    if problem:  # found before hours of simulation, not after
        print(f"error: --out {args.out}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    seed = args.seed if args.seed is not None else scenarios[0].seed
    if args.seed is None and any(s.seed != seed for s in scenarios[1:]):
        print(
            f"note: all scenarios use seed {seed} (from {scenarios[0].name}) so they share random numbers; "
            "set --seed to choose another",
            file=sys.stderr,
        )
    command = shlex.join(["python", "run.py", *argv])
    folders: list[Path] = []
    for scenario in scenarios:
        started = time.perf_counter()
        try:
            results = simulate(scenario, replicates=args.replicates, seed=seed, jobs=args.jobs, progress=None)
        except ScenarioError as err:  # a drawn parameter value the schema rejects
            print(f"error: {scenario.name}: {err}", file=sys.stderr)
            return EXIT_USAGE
        wall = time.perf_counter() - started
        try:
            folder = write_run(results, args.out, command=command, wall_time_s=wall)
        except (OSError, RunFolderError, NonFiniteResultsError) as exc:  # e.g. tables with NaN or inf
            print(f"error: could not save the {scenario.name} run: {exc}", file=sys.stderr)
            return 1
        print(summary_text(results, wall))
        print(f"saved: {folder}\n")
        folders.append(folder)
    if len(folders) > 1:
        auto_compare(folders, args.out, command)
    return EXIT_OK


def auto_compare(folders: list[Path], out: str, command: str) -> None:
    """After a run of several scenarios: compare them, the first as the reference. The runs are saved
    whatever happens here, so a comparison that cannot be made is a note, not an error."""
    try:
        comparison = build(load_runs(folders))
        path = write_comparison(comparison, out, command)
    except CompareError as err:
        print(f"note: no comparison: {err}", file=sys.stderr)
        print(
            f"  compare later: python run.py compare {shlex.join(map(str, folders))} --align ...",
            file=sys.stderr,
        )
        return
    except OSError as exc:
        print(f"note: could not save the comparison: {exc}", file=sys.stderr)
        return
    from .compare import headline_lines

    print(f"comparison: {path / 'report.html'}")
    print("\n".join(headline_lines(comparison)))


def unwritable(out: Path) -> str | None:
    """Why run folders cannot be made under ``out`` (None if they can)."""
    existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        return f"{existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"no permission to write in {existing}"
    return None


def summary_text(results: Results, wall_time_s: float) -> str:
    """A short table: median [5%, 95%] of the key indicators across replicates (values at the end of
    the run unless the label says otherwise)."""
    sc = results.scenario
    replicates = int(results.draws["replicate"].nunique())
    rows = list(KEY_INDICATORS)
    for bloc in sc.blocs:
        name = BLOC_LABELS.get(bloc, bloc)
        rows.append((BLOC_INDICATOR.format(bloc=bloc), f"Share of open usage from {name} labs (%)", 100))
    table = results.summary
    width = max(len(label) for _, label, _ in rows)
    lines = [
        f"{sc.name}: {replicates} replicates, {sc.months} months from {sc.start}, "
        f"{sc.adopters.n:,} adopters, seed {results.seed} ({wall_time_s:.1f} s)",
        f"  {'(at the end of the run unless stated)':<{width}}  {'median':>8}  [5%, 95%]",
    ]
    for key, label, scale in rows:
        if key not in table.index:
            continue
        med, lo, hi = (float(table.loc[key, col]) * scale for col in ("median", "p5", "p95"))
        lines.append(f"  {label:<{width}}  {fmt(med):>8}  [{fmt(lo)}, {fmt(hi)}]")
    return "\n".join(lines)


def fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


# -- the compare command ---------------------------------------------------------------------------------


def compare_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py compare",
        description="Compare saved runs side by side: overlay figures, differences from a reference "
        "(paired by replicate where the runs share seeds) and one self-contained report.html, in a new "
        "folder under OUT/compare/.",
        epilog="Runs of different lengths or start dates are refused unless --align says how to line them up.",
    )
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders written by run.py")
    parser.add_argument(
        "--reference", metavar="RUN_DIR", help="the run the others are compared with (default: the first)"
    )
    parser.add_argument("--out", default="outputs", metavar="DIR", help="output folder (default: outputs)")
    parser.add_argument(
        "--align",
        choices=ALIGN_CHOICES,
        help="truncate: compare the first months all runs have; calendar: compare the calendar months "
        "they share",
    )
    return parser


def compare_command(argv: list[str]) -> int:
    """``run.py compare``: refusals are one line on stderr and exit code 2, with nothing written."""
    try:
        args = compare_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        comparison = build(load_runs(args.runs, args.reference), args.align)
        problem = unwritable(Path(args.out))
        if problem:
            raise CompareError(f"--out {args.out}: {problem}")
        path = write_comparison(comparison, args.out, shlex.join(["python", "run.py", "compare", *argv]))
    except CompareError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: no partial comparison folder was left behind", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:
        print(f"error: could not save the comparison: {exc}", file=sys.stderr)
        return 1
    for label, pairing in comparison.pairing.items():
        print(f"{label} vs {comparison.reference.label}: {pairing.reason}")
    from .compare import headline_lines

    print(f"saved: {path}\nreport: {path / 'report.html'}")
    print("\n".join(headline_lines(comparison)))
    return EXIT_OK


COMMANDS["compare"] = compare_command


def runs_command(argv: list[str]) -> int:
    """``run.py runs [--out DIR]``: the saved runs, newest last per scenario, with their settings."""
    import json

    from .outputs import LATEST, MANIFEST, latest_run, run_folders

    parser = argparse.ArgumentParser(
        prog="run.py runs", description="List saved runs under an output folder."
    )
    parser.add_argument("--out", default="outputs", metavar="DIR", help="output folder (default: outputs)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    out = Path(args.out)
    scenario_dirs = (
        sorted(p for p in out.iterdir() if p.is_dir() and p.name not in ("compare", "sweeps"))
        if out.is_dir()
        else []
    )
    found = 0
    for folder in scenario_dirs:
        runs = run_folders(folder)
        if not runs:
            continue
        latest = latest_run(folder)
        print(f"{folder.name}:")
        for run in runs:
            try:
                m = json.loads((run / MANIFEST).read_text(encoding="utf-8"))
                what = f"seed {m['seed']}, {m['replicates']} replicates, {m['months']} months from {m['start']}, {m['adopters']:,} adopters"
            except (OSError, ValueError, KeyError, TypeError):
                what = "(manifest unreadable)"
            mark = f"  <- {LATEST}" if latest is not None and run == latest else ""
            print(f"  {run}  {what}{mark}")
            found += 1
    if not found:
        print(f"no complete runs under {out}")
    else:
        print(f"\ncompare the newest of two scenarios: python run.py compare {out}/<scenario> {out}/<other>")
    return EXIT_OK


COMMANDS["runs"] = runs_command


def dashboard_command(argv: list[str]) -> int:
    """``run.py dashboard [--port P]``: the live what-if page (optional extra ``.[dashboard]``)."""
    from .dashboard.cli import main as dashboard_main

    return dashboard_main(argv)


def sweep_command(argv: list[str]) -> int:
    """``run.py sweep sweeps/NAME.yaml [--executor local|dask] ...``: parameter sweeps (see ``sweep/``)."""
    from .sweep.cli import main as sweep_main

    return sweep_main(argv)


COMMANDS["dashboard"] = dashboard_command
COMMANDS["sweep"] = sweep_command


# -- the calibrate command -------------------------------------------------------------------------------


def calibrate_command(argv: list[str]) -> int:
    """``run.py calibrate calibration/NAME.yaml [--jobs J] [--scheduler ADDRESS] [--out DIR] [--fresh]``:
    ABC-SMC (pyabc, optional extra ``.[calibrate]``); a bad spec is one line on stderr and exit code 2,
    before any run and with nothing written. A killed calibration continues from its last generation when
    the same command is run again."""
    parser = argparse.ArgumentParser(
        prog="run.py calibrate",
        description="Fit a scenario's free parameters to published figures by ABC-SMC (pyabc) and write the "
        "posterior, a fit table, figures and a manifest in the calibration's folder.",
        epilog="The same command after a kill or Ctrl-C continues from the last complete generation "
        "(the history is an SQLite database in the folder). docs/calibration.md has the method.",
    )
    parser.add_argument("spec", metavar="SPEC.yaml", help="calibration spec (see calibration/)")
    parser.add_argument(
        "--jobs", type=non_negative_int, metavar="J", help="worker processes (default: all cores; 1: serial)"
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="sample on a running Dask cluster, e.g. tcp://host:8786"
    )
    parser.add_argument("--out", metavar="DIR", help="output folder (default: calibration/<name>)")
    parser.add_argument("--fresh", action="store_true", help="discard the folder's history and start again")
    parser.add_argument("--no-plots", action="store_true", help="skip the figures")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        from .calibrate import calibrate
        from .calibrate.outputs import inside_summary
    except ImportError as exc:
        print(f'error: run.py calibrate needs pyabc: pip install -e ".[calibrate]" ({exc})', file=sys.stderr)
        return EXIT_USAGE
    try:
        result = calibrate(
            args.spec,
            out=args.out,
            jobs=args.jobs,
            scheduler=args.scheduler,
            fresh=args.fresh,
            plots=not args.no_plots,
            verbose=not args.quiet,
        )
    except ScenarioError as err:  # CalibrationError too: a bad spec, found before any run
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(
            "\ninterrupted: complete generations are kept; run the same command to continue", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    m = result.manifest
    print(
        f"{m['name']}: {m['generations']} generations of {m['population_size']} particles, "
        f"{m['simulations']:,} runs ({m['adopters']:,} adopters, {m['months']} months), final tolerance "
        f"{m['final_epsilon']:.3g}; {m['targets_inside']}/{m['targets']} observations inside the posterior "
        "predictive 90% interval"
    )
    print("\n".join(inside_summary(result.fit)))
    if m["final_ess"] < 0.2 * m["population_size"]:
        print(
            f"note: the last generation's weights are worth {m['final_ess']:.0f} equally weighted particles of "
            f"{m['population_size']}; a larger population or population.transition: local spreads them",
            file=sys.stderr,
        )
    print(f"saved: {result.folder}")
    return EXIT_OK


COMMANDS["calibrate"] = calibrate_command


# -- the params command ----------------------------------------------------------------------------------


def params_command(argv: list[str]) -> int:
    """``run.py params [SCENARIO] [--json]``: every parameter with its type, value, bounds, unit and
    description, and which are uncertain or pinned."""
    import json

    from .config.parameters import bounds_text, parameters

    parser = argparse.ArgumentParser(
        prog="run.py params",
        description="List every parameter of a scenario by its dotted path (the names overrides, sweeps, "
        "events and mesa.batch_run keywords use), with type, value, bounds, unit and description.",
    )
    parser.add_argument(
        "scenario", nargs="?", default="baseline", help="scenario file or name (default: baseline)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list (one object per parameter)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        rows = parameters(args.scenario)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.json:
            print(json.dumps([vars(r) for r in rows], indent=1))
            return EXIT_OK
        width = max(len(r.path) for r in rows)
        for r in rows:
            value = f"{r.value:g}" if isinstance(r.value, float) else str(r.value)
            extra = [x for x in (r.type, bounds_text(r), r.unit) if x]
            flag = f"  uncertain: {r.uncertain}" if r.uncertain else ("  pinned" if r.pinned else "")
            print(f"{r.path:<{width}}  {value:>10}  ({', '.join(extra)}){flag}")
            if r.description:
                print(f"    {r.description}")
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


COMMANDS["params"] = params_command


# -- the levers command ----------------------------------------------------------------------------------


def levers_command(argv: list[str]) -> int:
    """``run.py levers [SCENARIO] [--markdown]``: each lever's paired effect (see ``simulation/levers.py``)."""
    from .levers import DEFAULTS, LEVERS, lever_effects, markdown

    parser = argparse.ArgumentParser(
        prog="run.py levers",
        description="Run every policy lever low and high with common seeds and print its effect on the gap "
        "and the open share (mean over the last 24 months, 90% interval across replicates).",
    )
    scenarios = sorted({lv.scenario for lv in LEVERS})
    parser.add_argument(
        "scenario", nargs="?", choices=scenarios, help="only the levers acting in this scenario"
    )
    parser.add_argument("--markdown", action="store_true", help="print docs/levers.md instead of a table")
    args, table, code = _paired_runs(
        parser, argv, DEFAULTS, lambda a, kw: lever_effects(scenario=a.scenario, **kw)
    )
    if code is not None:
        return code
    if args.markdown:
        print(markdown(table, replicates=args.replicates, seed=args.seed, n_adopters=args.adopters), end="")
        return EXIT_OK
    for _lever, rows in table.groupby("lever", sort=False):
        first = rows.iloc[0]
        print(f"{first['label']}  [{first['scenario']}]")
        for _, r in rows.iterrows():
            mark = (
                ""
                if not r["expected"]
                else (" (stated " + r["expected"] + (", holds)" if r["holds"] else ", DOES NOT hold)"))
            )
            print(f"  {r['outcome']:<32} {r['effect']:+11.4g}  [{r['ci5']:+.4g}, {r['ci95']:+.4g}]{mark}")
    return EXIT_OK


COMMANDS["levers"] = levers_command


# -- the findings command --------------------------------------------------------------------------------


def findings_command(argv: list[str]) -> int:
    """``run.py findings``: what the named scenarios do (see ``simulation/findings.py``)."""
    from .findings import DEFAULTS, markdown, scenario_findings

    parser = argparse.ArgumentParser(
        prog="run.py findings",
        description="Run the baseline and the three named scenarios (ban, China funding squeeze, sovereign "
        "consortium) with common seeds and print their measured effects with 90% intervals (docs/findings.md).",
    )
    _, found, code = _paired_runs(parser, argv, DEFAULTS, lambda a, kw: scenario_findings(**kw))
    if code is not None:
        return code
    print(markdown(found), end="")
    return EXIT_OK


def _paired_runs(
    parser: argparse.ArgumentParser,
    argv: list[str],
    defaults: dict[str, int],
    run: Callable[[argparse.Namespace, dict[str, Any]], Any],
) -> tuple[argparse.Namespace | None, Any, int | None]:
    """The settings levers and findings share (replicates, seed, adopters, jobs), parsed and checked, then
    ``run(args, settings)``: (args, its result, None), or (args, None, exit code) when it cannot run."""
    parser.add_argument("--replicates", type=positive_int, default=defaults["replicates"], metavar="N")
    parser.add_argument("--seed", type=non_negative_int, default=defaults["seed"], metavar="S")
    parser.add_argument("--adopters", type=positive_int, default=defaults["n_adopters"], metavar="N")
    parser.add_argument(
        "--jobs", type=non_negative_int, metavar="J", help="worker processes (default: all cores)"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return None, None, int(exc.code or 0)
    if args.replicates < 2 or args.replicates > 1000:
        print("error: --replicates: expected 2 to 1000 (an interval needs two)", file=sys.stderr)
        return args, None, EXIT_USAGE
    settings = {"replicates": args.replicates, "seed": args.seed, "n_adopters": args.adopters}
    try:
        return args, run(args, {**settings, "jobs": args.jobs, "progress": None}), None
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return args, None, EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return args, None, EXIT_INTERRUPTED


COMMANDS["findings"] = findings_command


# -- listing ---------------------------------------------------------------------------------------------


def list_scenarios(directory: Path = SCENARIO_DIR) -> int:
    """Print the shipped scenarios, name and one-line description, and how to run one."""
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        print(f"no scenarios in {directory}")
        return EXIT_OK
    width = max(len(p.stem) for p in paths)
    print(f"Shipped scenarios ({directory}):")
    for path in paths:
        try:
            description = load_scenario(path).description or "(no description)"
        except ScenarioError as err:
            description = f"(invalid: {err.problem})"
        print(f"  {path.stem:<{width}}  {description}")
    print(f"\nRun one with: python run.py {paths[0].stem}   (or a path to any scenario file)")
    return EXIT_OK
