"""Ground truth of the demo org: the planted behaviours and their measured sizes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from l2c.sandbox._gen_model import OrgSimulation
    from l2c.sandbox.generator import DemoOrg


def ground_truth(org: DemoOrg, sim: OrgSimulation) -> dict:
    return {"generator": {"seed": org.seed, "n_opportunities": org.n_opportunities, "now": org.now.isoformat()}}
