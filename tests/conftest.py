"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from l2c.sandbox.server import SandboxOrg

#: Size and seed of the shared read-only sandbox org: big enough for >2,000 OpportunityFieldHistory rows.
SHARED_SANDBOX_OPPORTUNITIES = 300
SHARED_SANDBOX_SEED = 3


@pytest.fixture(scope="session")
def sandbox_org() -> Iterator[SandboxOrg]:
    """One sandbox org (HTTPS Salesforce API on loopback) for tests that only read from it.

    Do not advance its clock, delete records or set faults here; use ``new_sandbox_org`` for that.
    """
    with SandboxOrg(n_opportunities=SHARED_SANDBOX_OPPORTUNITIES, seed=SHARED_SANDBOX_SEED) as org:
        yield org


@pytest.fixture
def new_sandbox_org() -> Iterator[Callable[..., SandboxOrg]]:
    """A factory of private sandbox orgs (closed after the test) for tests that change the org."""
    opened: list[SandboxOrg] = []

    def make(n_opportunities: int = 60, seed: int = 11, **kwargs) -> SandboxOrg:
        org = SandboxOrg(n_opportunities=n_opportunities, seed=seed, **kwargs)
        opened.append(org)
        return org

    yield make
    for org in opened:
        org.close()
