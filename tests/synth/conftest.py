"""Shared fixtures: one sandbox and one decontaminator for the synth tests (both cost to build)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sandbox():
    from opencoder_jax.synth.execution import make_sandbox

    sb = make_sandbox(timeout=3.0, workers=4)
    yield sb
    sb.close()


@pytest.fixture(scope="session")
def decontaminator():
    from opencoder_jax.refinecode.decontam import Decontaminator

    return Decontaminator()
