"""Fixtures of the fault matrix: the module-level rollout lab (two HAProxy instances, load over both)."""

from tests.support import lab as _lab

lab = _lab.lab
lab_deployed = _lab.lab_deployed
