"""How hard the fuzzers push: a small, reproducible quick profile for ``make test``, a long one for ``make soak``.

Each fuzz test is parametrized over ``PROFILES``; the soak case carries the ``soak`` marker, which
``make test`` deselects (pyproject's addopts) and ``make soak`` selects. Quick runs are derandomized so CI
sees the same examples every time; soak runs draw fresh ones.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

PROFILES = [pytest.param("quick", id="quick"), pytest.param("soak", id="soak", marks=pytest.mark.soak)]
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def fuzz_settings(profile: str, *, quick: int, soak: int) -> settings:
    """Settings for one fuzzed property: ``quick`` examples under ``make test``, ``soak`` under ``make soak``."""
    return settings(
        max_examples=quick if profile == "quick" else soak,
        derandomize=profile == "quick",
        deadline=None,  # real HTTP to real processes: timing belongs in benchmarks, not here
        database=None,
        suppress_health_check=_SLOW_IS_FINE,
        print_blob=True,
    )
