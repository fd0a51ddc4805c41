"""Reads of the views for the API: plain bodies, built by the pure view functions."""

from __future__ import annotations

import time
from datetime import date
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from application.projections import VIEW_NAMES
from application.projections.complaints import complaints_body
from application.projections.consistency import consistency_body
from application.projections.reinspections import reinspection_item
from application.projections.scores import scores_body
from application.projections.store import body_key
from application.projections.years import year_body, year_key
from domain.errors import NotFound
from domain.reinspection import status_on
from infrastructure.projections.tables import VIEW_TABLES, Sealer, tracking

T = VIEW_TABLES


def no_scores(inspection_id: UUID) -> NotFound:
    """The answer for an inspection without scores, and for another body's, which an organisation may not know of."""
    return NotFound(f"no scores for inspection {inspection_id} (yet)")


class ViewReader:
    def __init__(self, engine: sa.Engine, cipher: Any | None = None) -> None:
        self.engine = engine
        self.sealer = Sealer(cipher)  # the event store's cipher: case data in the views is sealed with it

    # -- positions ---------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            found = dict(conn.execute(sa.select(tracking.c.name, tracking.c.position)).all())
        return {name: found.get(name, 0) for name in VIEW_NAMES}

    def reached(self, names: tuple[str, ...], position: int) -> bool:
        positions = self.positions()
        return all(positions[name] >= position for name in names)

    def wait_for(
        self, names: tuple[str, ...], position: int, timeout: float, interval: float = 0.01, longest: float = 0.1
    ) -> bool:
        """True once every named view has processed ``position``; False after about ``timeout`` seconds.

        Polls at once, then after ``interval``, growing by half each time to ``longest``: a write is
        usually projected within tens of milliseconds, and many waiting reads must not keep the
        database (and the worker's CPU) busy polling. No connection is held between polls.
        Counts sleeps rather than reading a clock, so that a frozen test clock cannot stall it.
        """
        slept, pause = 0.0, interval
        while True:
            if self.reached(names, position):
                return True
            if slept >= timeout:
                return False
            time.sleep(pause)
            slept += pause
            pause = min(pause * 1.5, longest)

    # -- views -------------------------------------------------------------------

    def scores(self, inspection_id: UUID) -> dict[str, Any]:
        row = self._row("vw_score_inspections", str(inspection_id))
        if row is None:
            raise no_scores(inspection_id)
        return scores_body(row)

    def inspection_list(
        self,
        programme: str | None = None,
        year: str | None = None,
        status: str | None = None,
        body: str | None = None,
        q: str | None = None,
        organisation: str | None = None,
        limit: int = 50,
        after: tuple[str, str] | None = None,
    ) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
        """A page of inspections, newest ``fieldwork_start`` first (ties: id, descending), and the
        key after which the next page starts (None on the last page). Keyset paging, so a page costs
        the same however deep it is. ``body`` is a name (case and spaces ignored);
        ``q`` matches part of the name ignoring case; ``organisation`` keeps that body's own.
        The API's listing and the pages' list both read it (the pages show ``case_count`` too)."""
        table = T["vw_score_inspections"]
        query = (
            sa.select(
                table.c.id,
                table.c.programme,
                table.c.framework,
                table.c.year,
                table.c.inspected_body,
                table.c.status,
                table.c.fieldwork_start,
                table.c.published_on,
                table.c.case_count,
            )
            .order_by(table.c.fieldwork_start.desc(), table.c.id.desc())
            .limit(limit + 1)
        )
        query = _inspections_where(query, table, programme, year, status, body, q, organisation)
        if after is not None:
            start, key = after
            query = query.where(
                sa.or_(
                    table.c.fieldwork_start < start,
                    sa.and_(table.c.fieldwork_start == start, table.c.id < key),
                )
            )
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, ((rows[-1]["fieldwork_start"], rows[-1]["id"]) if more and rows else None)

    def programme_year(self, programme: str, year: str) -> dict[str, Any]:
        return year_body(self._row("vw_years", year_key(programme, year)), programme, year)

    def year_profiles(
        self, programme: str, year: str, published_only: bool = True, ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The scores view's rows of a programme year (``id``, ``framework``, ``status``, ``profiles``,
        ``profile_cases``) with the programme-years view's ``reinspection`` mark, oldest fieldwork first:
        the published ones, or every one; with ``ids``, only those."""
        scores, marks = T["vw_score_inspections"], T["vw_year_inspections"]
        query = (
            sa.select(
                scores.c.id,
                scores.c.framework,
                scores.c.status,
                scores.c.profiles,
                scores.c.profile_cases,
                marks.c.reinspection,
            )
            .select_from(scores.outerjoin(marks, marks.c.id == scores.c.id))
            .where(scores.c.programme == programme, scores.c.year == year)
            .order_by(scores.c.fieldwork_start, scores.c.id)
        )
        if published_only:
            query = query.where(scores.c.status == "published")
        if ids is not None:
            query = query.where(scores.c.id.in_(ids))
        with self.engine.connect() as conn:  # (sealed columns are the scores view's: open them as its rows)
            return [self.sealer.open(scores.name, dict(r)) for r in conn.execute(query).mappings()]

    def complaints(self, today: date, organisation: str | None = None) -> dict[str, Any]:
        table = T["vw_complaints"]
        query = table.select().order_by(table.c.received_on, table.c.id)
        if organisation is not None:
            query = query.where(table.c.body_key == body_key(organisation))
        return complaints_body(self._rows(query), today)

    def reinspections(
        self,
        origin_inspection_id: UUID | None = None,
        status: str | None = None,
        organisation: str | None = None,
        today: date | None = None,
    ) -> list[dict[str, Any]]:
        """Reinspections by due date; with ``today``, each status as of that day
        (``domain.reinspection.status_on``), otherwise as recorded."""
        table = T["vw_reinspections"]
        query = table.select().order_by(table.c.due_on, table.c.id)
        if origin_inspection_id is not None:
            query = query.where(table.c.origin_inspection_id == str(origin_inspection_id))
        if organisation is not None:
            query = query.where(table.c.body_key == body_key(organisation))
        if status is not None and today is None:
            query = query.where(table.c.status == status)
        items = [reinspection_item(row) for row in self._rows(query)]
        if today is None:
            return items
        for item in items:
            item["status"] = status_on(item["status"], date.fromisoformat(item["due_on"]), today)
        return [item for item in items if status is None or item["status"] == status]

    def consistency(self, programme: str | None = None, year: str | None = None) -> dict[str, Any]:
        table = T["vw_moderations"]
        query = table.select()
        if programme is not None:
            query = query.where(table.c.programme == programme)
        if year is not None:
            query = query.where(table.c.year == year)
        body = consistency_body(self._rows(query))
        return {"programme": programme, "year": year, **body}

    # -- helpers -----------------------------------------------------------------

    def _row(self, table: str, key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(T[table].select().where(T[table].c.id == key)).mappings().first()
        return self.sealer.open(table, dict(row)) if row is not None else None

    def _rows(self, query: sa.Select) -> list[dict[str, Any]]:
        table = query.get_final_froms()[0].name  # type: ignore[attr-defined]  # (a Table: it has one)
        with self.engine.connect() as conn:
            return [self.sealer.open(table, dict(r)) for r in conn.execute(query).mappings()]


def _inspections_where(
    query: Any,
    table: sa.Table,
    programme: str | None,
    year: str | None,
    status: str | None,
    body: str | None,
    q: str | None,
    organisation: str | None,
) -> Any:
    """The listing's filters: ``body`` a whole name and ``q`` part of one (case and
    spaces ignored); ``organisation`` keeps that body's own."""
    if programme:
        query = query.where(table.c.programme == programme)
    if year:
        query = query.where(table.c.year == year)
    if status:
        query = query.where(table.c.status == status)
    if body and body.strip():
        query = query.where(table.c.body_key == body_key(body))
    if q and q.strip():
        query = query.where(table.c.body_key.contains(body_key(q), autoescape=True))
    if organisation is not None:
        query = query.where(table.c.body_key == body_key(organisation))
    return query
