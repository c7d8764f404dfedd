"""Fixtures of the fault matrix: the module-level rollout lab (two HAProxy instances, load over both)."""

from tests.support.lab import lab, lab_deployed  # noqa: F401 (fixtures)
