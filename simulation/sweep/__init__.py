"""Parameter sweeps and sensitivity analysis, from a laptop to a Dask cluster.

``sweep(base, parameters, sampler=..., n=...)`` validates everything, runs each sample's replicates on
local processes or Dask, saves each run as it finishes (resumable), and returns a :class:`SweepResult`
with tidy tables; ``analysis`` computes Sobol'/Morris indices (SALib) and ``plots`` draws them. Modules:
``spec`` (what), ``plan`` (checked against the scenario), ``samplers``, ``task`` (one run), ``executors``
(with ``worker_guard``, the Dask workers' preload), ``storage`` (the output folder, locked while a sweep
writes it), ``api``, ``analysis``, ``plots``, ``cli``.

SALib, pyarrow and Dask are imported only when needed (``pip install -e '.[sweep]'``).
"""

from .api import SweepResult, load_sweep, run_sweep, sweep
from .spec import SweepError, SweepSpec, load_spec

__all__ = ["SweepError", "SweepResult", "SweepSpec", "load_spec", "load_sweep", "run_sweep", "sweep"]
