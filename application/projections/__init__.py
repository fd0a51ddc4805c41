"""Read models as pure folds over recorded events (no database here; see infrastructure.projections)."""

from __future__ import annotations

from collections.abc import Sequence

from application.projections.complaints import ComplaintsView
from application.projections.consistency import ConsistencyView
from application.projections.reinspections import ReinspectionsView
from application.projections.scores import ScoresView
from application.projections.store import Fact, Rows, Tables, View
from application.projections.years import ProgrammeYearsView

VIEWS: tuple[type[View], ...] = (ScoresView, ProgrammeYearsView, ComplaintsView, ReinspectionsView, ConsistencyView)
VIEW_NAMES: tuple[str, ...] = tuple(v.name for v in VIEWS)


def views_named(names: Sequence[str] | None = None) -> list[View]:
    """Fresh view objects, all of them or those named (unknown names raise KeyError)."""
    by_name = {v.name: v for v in VIEWS}
    return [by_name[name]() for name in (names or VIEW_NAMES)]


__all__ = ["VIEWS", "VIEW_NAMES", "Fact", "Rows", "Tables", "View", "views_named"]
