"""Hypothesis settings for mutation testing (`make mutation`, docs/testing.md).

mutmut loads this module as a pytest plugin (`-p tests.mutation_plugin` in pyproject.toml
[tool.mutmut]); an ordinary test run never does. Under a mutant:

* no shrinking: the first failing example is enough to kill the mutant, and shrinking a list
  of forty subscriptions can take longer than mutmut's time limit (the mutant would be
  reported as a timeout after half a minute instead of killed at once);
* derandomized, no example database: a rerun gives the same verdicts;
* no deadline: mutmut's instrumentation makes every call slower.
"""

from __future__ import annotations

from hypothesis import Phase, settings

settings.register_profile(
    "mutation",
    phases=(Phase.explicit, Phase.generate),
    derandomize=True,
    database=None,
    deadline=None,
)
settings.load_profile("mutation")
