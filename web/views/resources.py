"""Read views: answered from the tracked projections, optionally once they reach a position."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, current_app
from flask.views import MethodView
from marshmallow import RAISE

from application.past_years import programme_year_as_of, published_as_of
from application.projections.diversity import year_diversity
from domain import clock
from domain.access import ensure_may_read_unpublished_aggregates
from domain.errors import InvalidValue, NotFound
from domain.frameworks import PROGRAMMES
from infrastructure.projections.reader import ViewReader, no_scores
from web.audit.schemas import DiversityQuery, ProgrammeYearQuery
from web.auth import READERS, ensure_may_see, is_organisation, roles
from web.context import actor, application, services
from web.errors import InvalidInput, ViewNotCurrent
from web.inspections.schemas import AsOfQuery
from web.longheld import admit
from web.responses import read
from web.schemas import COMMON, Blueprint, problems
from web.views import schemas as s

blp = Blueprint("views", __name__, url_prefix="/v1/views", description="Read views (tracked projections)")

WAIT_SECONDS = 3.0  # how long a read with ?min_position waits for the view (INSPECTORATE_VIEW_WAIT_SECONDS)


def reader() -> ViewReader:
    return services().views


def not_current(views: tuple[str, ...], min_position: int | None) -> None:
    """Return once the views have processed ``min_position`` (at once without one); else raise.

    A position beyond the head of the record can never be reached by waiting: ``InvalidInput``
    at once. Waiting takes one of the worker's few places for long-held requests (web.longheld):
    none free is ``LongHeldRefused`` at once; a wait that runs out is ``ViewNotCurrent``.
    """
    if min_position is None:
        return
    if reader().reached(views, min_position):
        return
    head = application().recorder.max_notification_id() or 0
    if min_position > head:
        raise InvalidInput(
            "min_position is beyond the head of the record.",
            {"min_position": [f"Must be at most {head}, the head of the record."]},
        )
    release = admit()
    try:
        timeout = float(current_app.config.get("INSPECTORATE_VIEW_WAIT_SECONDS", WAIT_SECONDS))
        if reader().wait_for(views, min_position, timeout):
            return
    finally:
        release()
    raise ViewNotCurrent(f"The view has not processed position {min_position} yet; retry shortly.")


def organisation() -> str | None:
    """The caller's organisation when its reads are limited to it."""
    return (actor().organisation or "") if is_organisation() else None


@blp.route("/inspections/<uuid:inspection_id>/scores")
class InspectionScores(MethodView):
    @roles(*READERS)
    @blp.arguments(s.ViewQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, s.ScoresOut)
    @problems(blp, *COMMON, 503)
    def get(self, inspection_id: UUID, min_position: int | None = None) -> Response:
        """Headline and criterion scores with 95% intervals: live in fieldwork, frozen once published."""
        not_current(("scores",), min_position)
        body = reader().scores(inspection_id)
        ensure_may_see({"name": body["inspected_body"]}, no_scores(inspection_id))
        return read(body)


@blp.route("/inspections/<uuid:inspection_id>/ratings")
class InspectionRatings(MethodView):
    @roles(*READERS)
    @blp.arguments(AsOfQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, s.RatingsOut)
    @problems(blp, *COMMON)
    def get(self, inspection_id: UUID, as_of: Any = None) -> Response:
        """A 2018 inspection's ratings: each standard's with its key questions (95% intervals) and the
        overall one; live before publication, frozen after; as recorded at `as_of` if given. Computed
        from the inspection and its cases with the same rules as publication, so always current."""
        inspection, body = application().ratings(inspection_id, as_of)
        ensure_may_see(inspection.inspected_body, NotFound.record("Inspection", inspection_id, as_of))
        if as_of is not None:
            body["as_of"] = as_of.isoformat()
        return read(body)


@blp.route("/programmes/<programme>/years/<year>")
class ProgrammeYear(MethodView):
    @roles(*READERS)
    @blp.arguments(ProgrammeYearQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, s.ProgrammeYearOut)
    @problems(blp, *COMMON, 503)
    def get(self, programme: str, year: str, min_position: int | None = None, as_of: Any = None) -> Response:
        """Published inspections of a programme and business year, pooled, with the lowest and highest."""
        if programme not in PROGRAMMES or s.YEAR_PATTERN.match(year) is None:
            raise NotFound(f"no programme year {programme} {year}")
        if as_of is not None:  # from the events as recorded then, not from the view (application/past_years.py)
            return read(programme_year_as_of(application(), programme, year, as_of))
        not_current(("programme_years",), min_position)
        return read(reader().programme_year(programme, year))


@blp.route("/programmes/<programme>/years/<year>/diversity")
class ProgrammeYearDiversity(MethodView):
    @roles(*READERS)
    @blp.arguments(DiversityQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, s.DiversityOut)
    @problems(blp, *COMMON, 503)
    def get(
        self, programme: str, year: str, min_position: int | None = None, as_of: Any = None, published_only: bool = True
    ) -> Response:
        """Diversity across inspections: for each case characteristic and value, its cases and share of the
        year's sample, and for each area (or 2018 standard/key question) its pooled score with a 95% interval
        and its difference from the year's other cases with a 95% interval; small cells suppressed.
        From the scores view's per-inspection profile tallies (docs/year.md)."""
        if programme not in PROGRAMMES or s.YEAR_PATTERN.match(year) is None:
            raise NotFound(f"no programme year {programme} {year}")
        if not published_only:
            ensure_may_read_unpublished_aggregates(actor())
            if as_of is not None:
                raise InvalidValue("as_of", "as_of answers published figures only: leave out published_only=false")
        not_current(("scores", "programme_years"), min_position)
        if as_of is None:
            rows = reader().year_profiles(programme, year, published_only)
            return read(year_diversity(programme, year, rows, published_only=published_only))
        # As it stood: the inspections published by then (from the events); their tallies froze at publication.
        published = published_as_of(application(), programme, year, as_of)
        rows = reader().year_profiles(programme, year, True, [str(i.id) for i in published])
        if len(rows) < len(published):
            raise ViewNotCurrent("The scores view has not processed every publication up to as_of yet; retry shortly.")
        marks = {str(i.id): i.reinspection_of is not None for i in published}
        for row in rows:
            row["reinspection"] = marks[row["id"]]
        return read({**year_diversity(programme, year, rows, published_only=True), "as_of": as_of.isoformat()})


@blp.route("/complaints")
class Complaints(MethodView):
    @roles(*READERS)
    @blp.arguments(s.ViewQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, s.ComplaintsOut)
    @problems(blp, *COMMON, 503)
    def get(self, min_position: int | None = None) -> Response:
        """Open and overdue complaints (as of today), by category and outcome (an organisation sees its own)."""
        not_current(("complaints",), min_position)
        return read(reader().complaints(clock.today(), organisation()))


@blp.route("/reinspections")
class Reinspections(MethodView):
    @roles(*READERS)
    @blp.arguments(s.ReinspectionsQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, s.ReinspectionsOut)
    @problems(blp, *COMMON, 503)
    def get(self, min_position: int | None = None, **filters: Any) -> Response:
        """Reinspections with due dates and comparisons (an organisation sees its own)."""
        not_current(("reinspections",), min_position)
        return read({"items": reader().reinspections(organisation=organisation(), today=clock.today(), **filters)})


@blp.route("/consistency")
class Consistency(MethodView):
    @roles("qa_reviewer", "auditor", "admin")
    @blp.arguments(s.ConsistencyQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, s.ConsistencyOut)
    @problems(blp, *COMMON, 503)
    def get(self, min_position: int | None = None, **filters: Any) -> Response:
        """Agreement and Cohen's kappa between first and moderated judgements, with the disagreements."""
        not_current(("consistency",), min_position)
        return read(reader().consistency(**filters))


@blp.route("/status")
class Status(MethodView):
    @roles("admin", "auditor")
    @blp.response(200, s.ViewsStatusOut)
    @problems(blp, *COMMON)
    def get(self) -> Response:
        """Each view's position and lag behind the head of the record."""
        return read(views_status())


def views_status() -> dict[str, Any]:
    """The head of the record, and each view's position and lag behind it."""
    head = application().recorder.max_notification_id() or 0
    positions = reader().positions()
    return {"head": head, "views": {name: {"position": p, "lag": max(0, head - p)} for name, p in positions.items()}}
