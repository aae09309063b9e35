"""Every registered projection, by name."""

from projections import beneficiaries, eligibility, overview, reconciliation, register, reviews
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
    )
}
