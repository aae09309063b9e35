"""Every registered projection, by name."""

from adapters.settings import Settings
from projections import (
    agencies,
    approvals,
    beneficiaries,
    eligibility,
    overview,
    reconciliation,
    register,
    reviews,
)
from projections.base import Projection

PROJECTIONS: dict[str, Projection] = {
    p.name: p
    for p in (
        register.PROJECTION,
        beneficiaries.PROJECTION,
        eligibility.PROJECTION,
        reviews.PROJECTION,
        reconciliation.PROJECTION,
        overview.PROJECTION,
        agencies.PROJECTION,
        approvals.PROJECTION,
    )
}


def configured(settings: Settings) -> dict[str, Projection]:
    """Every projection as this deployment's settings configure it (`Projection.parameters`):
    what the runner applies events to and rebuilds, and what makes a generation's tables."""
    rule = reconciliation.Rule(
        desil_tolerance=settings.reconcile_desil_tolerance,
        stale_months=settings.reconcile_stale_months,
    )
    return {**PROJECTIONS, reconciliation.PROJECTION.name: reconciliation.configured(rule)}
