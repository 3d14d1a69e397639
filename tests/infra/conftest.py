"""The real program, run once per mode under mocks and shared by the tests (runs take ~0.2 s after import)."""

from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    # pulumi_aws announces the deprecation of a resource this program never uses when its ec2 module loads.
    warnings.simplefilter("ignore", DeprecationWarning)
    import pulumi_aws

    assert pulumi_aws.ec2.Vpc  # the module loads lazily, on first attribute access

from infra.offline import ProgramRun, run_program, stack_config


@pytest.fixture(scope="session")
def dev_config() -> dict[str, str]:
    return stack_config()


def _run(config: dict[str, str], preview: bool) -> ProgramRun:
    run = run_program(config, preview=preview)
    if run.error is not None:
        raise run.error
    return run


@pytest.fixture(scope="session")
def preview_run(dev_config: dict[str, str]) -> ProgramRun:
    return _run(dev_config, preview=True)


@pytest.fixture(scope="session")
def update_run(dev_config: dict[str, str]) -> ProgramRun:
    return _run(dev_config, preview=False)


@pytest.fixture(scope="session", params=["preview", "update"])
def program(request: pytest.FixtureRequest, preview_run: ProgramRun, update_run: ProgramRun) -> ProgramRun:
    """Each test using this runs against both `pulumi preview` and `pulumi up` registrations."""
    return preview_run if request.param == "preview" else update_run
