"""Pages for people: the same reads as the JSON API, through the same application and view reader,
under the same roles, drawn as HTML with SVG charts. Each page offers its figures as CSV
(``?format=csv``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode
from uuid import UUID

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from application.audit import record_head, verify_record
from application.projections.diversity import year_diversity
from application.representations import case_dict, inspection_dict
from application.summaries import inspection_history
from domain import clock
from domain.access import may_see_characteristics
from domain.errors import DomainError, InvalidValue, NotFound, PermissionDenied
from domain.frameworks import FRAMEWORKS, PROGRAMMES, framework_by_code
from domain.scoring import Tally
from web.audit.reads import record_read
from web.audit.resources import Verify, _cell
from web.auth import READERS, ensure_may_see, is_organisation
from web.context import actor, application, services
from web.errors import status_of
from web.inspections.schemas import STATUSES, AsOfQuery, Cursor, cursor_text
from web.pages import charts
from web.pages.session import CSRF_FIELD, check_csrf, csrf_token, sign_in, sign_out, signed_in
from web.views.resources import Consistency, organisation, reader
from web.views.schemas import YEAR_PATTERN

# Pages load only their own stylesheet and icon; no script at all; forms post only here.
PAGES_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

bp = Blueprint("pages", __name__, template_folder="templates")
OPEN_ENDPOINTS = ("pages.sign_in",)
STEPS = (
    ("scheduled", "inspection.scheduled.v1"),
    ("fieldwork", "inspection.fieldwork_started.v1"),
    ("fieldwork_complete", "inspection.fieldwork_completed.v1"),
    ("published", "inspection.report_published.v1"),
)


def allowed_roles(view: Any) -> tuple[str, ...]:
    """The roles the JSON API's view admits (set by ``web.auth.roles``): one rule for both faces."""
    return tuple(view.allowed_roles)


AUDITORS = allowed_roles(Verify.get)
CONSISTENCY_READERS = allowed_roles(Consistency.get)


@bp.before_request
def before() -> BaseResponse | None:
    """Pages get their own CSP; every POST carries the session's CSRF token; every page but
    sign-in needs a live signed-in token (else off to sign in, and back here afterwards)."""
    g.csp = PAGES_CSP
    if request.method == "POST":
        check_csrf()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if signed_in() is None:
        return redirect(url_for("pages.sign_in", next=request.full_path.rstrip("?")), 303)
    return None


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def page_roles(*allowed: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if actor().role not in allowed:
                raise PermissionDenied(f"The role '{actor().role}' may not see this page.")
            return view(*args, **kwargs)

        return wrapper

    return decorate


@bp.context_processor
def page_context() -> dict[str, Any]:
    role = getattr(g.get("actor"), "role", None)
    return {
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token,
        "who": g.get("actor"),
        "nav": [
            (label, url_for(endpoint))
            for label, endpoint, roles in (
                ("Inspections", "pages.inspections", READERS),
                ("Consistency", "pages.consistency", CONSISTENCY_READERS),
                ("Complaints", "pages.complaints", READERS),
                ("Audit", "pages.audit", AUDITORS),
            )
            if role in roles
        ]
        if role
        else [],
        "label": lambda text: str(text).replace("_", " ") if text is not None else "",
        "csv_url": csv_url,
        "answer": lambda v: (
            "unknown" if v is None else ("yes" if v else "no") if isinstance(v, bool) else str(v).replace("_", " ")
        ),
    }


def csv_url() -> str:
    """This page's address with its filters, asking for CSV."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "format"] + [("format", "csv")]
    return f"{request.path}?{urlencode(args)}"


# -- errors, as pages ------------------------------------------------------------


@bp.errorhandler(DomainError)
def domain_error(error: DomainError) -> tuple[str, int]:
    status = status_of(error)
    return render_template("pages/error.html", status=status, title=error.title, detail=error.detail), status


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    return render_template("pages/error.html", status=status, title=error.name, detail=error.description), status


# -- signing in and out ----------------------------------------------------------


def _next(target: str | None) -> str:
    """Only a path on this site: never another origin (``//host``, ``/\\host``)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) < 2000:
        return target
    return url_for("pages.inspections")


def sign_in_page() -> Any:
    target = _next(request.values.get("next"))
    if request.method == "GET":
        return render_template("pages/sign_in.html", target=target, error=None)
    secret = request.form.get("token", "").strip()
    info = services().tokens.authenticate(secret) if secret and len(secret) <= 200 else None
    if info is None:
        return render_template(
            "pages/sign_in.html", target=target, error="That token is unknown or has been revoked."
        ), 401
    if info.role not in READERS:
        return render_template(
            "pages/sign_in.html",
            target=target,
            error=f"The role '{info.role}' reads the event feed only; it has no pages.",
        ), 403
    sign_in(info)
    return redirect(target, 303)


bp.add_url_rule("/sign-in", endpoint="sign_in", view_func=sign_in_page, methods=["GET", "POST"])


@bp.post("/sign-out")
def sign_out_page() -> BaseResponse:
    sign_out()
    return redirect(url_for("pages.sign_in"), 303)


@bp.get("/")
def home() -> BaseResponse:
    return redirect(url_for("pages.inspections"), 303)


# -- CSV -------------------------------------------------------------------------


def wants_csv() -> bool:
    return request.args.get("format") == "csv"


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """Text cells cannot start a spreadsheet formula (as the API's history CSV)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                value if isinstance(value, (int, float)) and not isinstance(value, bool) else _cell(value)
                for value in row
            ]
        )
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


# -- query checking --------------------------------------------------------------


def _choice(name: str, choices: Sequence[str]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in choices:
        raise InvalidValue(name, f"{name} must be one of {', '.join(choices)}")
    return value


def _year(name: str = "year") -> str | None:
    value = request.args.get(name) or None
    if value is not None and YEAR_PATTERN.match(value) is None:
        raise InvalidValue(name, "year must be a business year like 2011-12")
    return value


def _as_of() -> datetime | None:
    """The as-of picker's time: a ``datetime-local`` value is read as UTC; ISO 8601 with an offset as is."""
    value = (request.args.get("as_of") or "").strip()
    if not value:
        return None
    if len(value) <= 19 and "T" in value:  # 2011-05-03T10:00[:00], as the browser's picker sends it
        value += ":00Z" if len(value) == 16 else "Z"
    try:
        return AsOfQuery().load({"as_of": value})["as_of"]
    except ValidationError:
        raise InvalidValue("as_of", "as of must be a date and time, e.g. 2011-05-03T10:00") from None


# -- inspections -----------------------------------------------------------------


@bp.get("/inspections")
@page_roles(*READERS)
def inspections() -> Any:
    filters: dict[str, Any] = {
        "programme": _choice("programme", PROGRAMMES),
        "year": _year(),
        "status": _choice("status", STATUSES),
        "q": (request.args.get("q") or "").strip()[:200] or None,
    }
    if wants_csv():  # every inspection the filters match, read page by page
        return csv_response(
            "inspections.csv",
            ("id", "programme", "year", "inspected_body", "status", "published_on", "cases"),
            (
                (
                    i["id"],
                    i["programme"],
                    i["year"],
                    i["inspected_body"]["name"],
                    i["status"],
                    i["published_on"],
                    i["case_count"],
                )
                for i in _every_inspection(filters)
            ),
        )
    cursor = _cursor()
    items, after = reader().inspection_list(**filters, organisation=organisation(), limit=PAGE_SIZE, after=cursor)
    shown = {k: v for k, v in filters.items() if v}
    next_page = url_for("pages.inspections", **shown, cursor=cursor_text(after)) if after else None
    return render_template(
        "pages/inspections.html",
        items=items,
        filters=filters,
        programmes=PROGRAMMES,
        statuses=STATUSES,
        paged=cursor is not None,
        first_page=url_for("pages.inspections", **shown),
        next_page=next_page,
    )


PAGE_SIZE = 50  # inspections on a page of the list, newest fieldwork first, as GET /v1/inspections pages them


def _cursor() -> tuple[str, str] | None:
    value = request.args.get("cursor") or None
    if value is None:
        return None
    try:
        return cast("tuple[str, str]", Cursor().deserialize(value))
    except ValidationError:
        raise InvalidValue("cursor", "cursor must be the next page's link as this site gave it") from None


def _every_inspection(filters: dict[str, Any]) -> Iterable[dict[str, Any]]:
    after = None
    while True:
        items, after = reader().inspection_list(**filters, organisation=organisation(), limit=200, after=after)
        yield from items
        if after is None:
            return


def _intervals(headline: dict[str, Any]) -> list[charts.Interval]:
    return [charts.Interval(area, v.get("score"), *(v.get("ci95") or (None, None))) for area, v in headline.items()]


def _with_intervals(scores: dict[str, Any] | None) -> dict[str, Any]:
    return {k: Tally(v["sufficient"], v["applicable"]).as_dict_with_interval() for k, v in (scores or {}).items()}


@bp.get("/inspections/<uuid:inspection_id>")
@page_roles(*READERS)
def inspection(inspection_id: UUID) -> Any:
    app = application()
    as_of = _as_of()
    state = app.get_inspection(inspection_id, as_of)
    ensure_may_see(state.inspected_body, NotFound.record("Inspection", inspection_id, as_of))
    history = inspection_history(app, inspection_id, actor())
    record_read(actor(), "inspection.history", inspection_id)
    if as_of is not None:
        history = [e for e in history if datetime.fromisoformat(e["recorded_at"]) <= as_of]
    if wants_csv():
        return csv_response(
            f"inspection-{inspection_id}-history.csv",
            ("position", "recorded_at", "type", "actor_name", "actor_role", "summary"),
            (
                (
                    e["position"],
                    e["recorded_at"],
                    e["type"],
                    e["actor"].get("name"),
                    e["actor"].get("role"),
                    e["summary"],
                )
                for e in history
            ),
        )
    body = inspection_dict(state)
    framework = framework_by_code(state.framework)
    if as_of is None:
        try:
            scores = reader().scores(inspection_id)
            headline, criteria = scores["headline"], scores["criteria"]
        except NotFound:  # the view has not caught up with a new inspection yet
            headline, criteria = {}, {}
    else:  # as it stood: the published figures if it was published by then
        headline, criteria = _with_intervals(body["headline_scores"]), _with_intervals(body["criteria_scores"])
    with_characteristics = may_see_characteristics(actor())
    cases = [
        case_dict(app.get_case(case_id, as_of), with_characteristics=with_characteristics) for case_id in state.case_ids
    ]
    record_read(actor(), "case.list", inspection_id)
    for case in cases if with_characteristics else ():
        record_read(actor(), "case", case["id"])
    reached = {e["type"]: e["recorded_at"] for e in history if e["stream"] == str(inspection_id)}
    steps = [(name, reached.get(topic)) for name, topic in STEPS]
    chart = (
        charts.scores_with_intervals("Headline scores with 95% intervals", _intervals(headline))
        if any(s.get("score") is not None for s in headline.values())
        else None
    )
    return render_template(
        "pages/inspection.html",
        inspection=body,
        framework=framework,
        steps=steps,
        headline=headline,
        criteria=criteria,
        chart=chart,
        cases=cases,
        with_characteristics=with_characteristics,
        history=list(reversed(history)),
        as_of=as_of,
        now=clock.now(),
        as_of_value=as_of.strftime("%Y-%m-%dT%H:%M:%S") if as_of else "",
    )


# -- programme years -------------------------------------------------------------


@bp.get("/programmes/<programme>/years/<year>")
@page_roles(*READERS)
def programme_year(programme: str, year: str) -> Any:
    if programme not in PROGRAMMES or YEAR_PATTERN.match(year) is None:
        raise NotFound(f"no programme year {programme} {year}")
    if wants_csv() and _choice("table", ("inspections", "diversity")) == "diversity":
        return csv_response(
            f"{programme}-{year}-diversity.csv", DIVERSITY_CSV, diversity_rows(_diversity(programme, year))
        )
    view = reader().programme_year(programme, year)
    areas = list(view["aggregate"]) or list(_areas_of(programme))
    if wants_csv():
        return csv_response(
            f"{programme}-{year}.csv",
            ("inspection_id", "inspected_body", "cases", *areas),
            (
                (r["inspection_id"], r["inspected_body"], r["cases"], *(r["headline"].get(a) for a in areas))
                for r in view["rows"]
            ),
        )
    strips = [
        charts.Strip(
            area,
            [r["headline"][area] for r in view["rows"] if r["headline"].get(area) is not None],
            view["aggregate"].get(area, {}).get("score"),
        )
        for area in areas
    ]
    chart = charts.every_body(f"Every inspection's scores, {programme} {year}", strips) if view["rows"] else None
    diversity = _diversity(programme, year)
    return render_template(
        "pages/programme_year.html",
        view=view,
        areas=areas,
        chart=chart,
        diversity=diversity,
        diversity_charts=_diversity_charts(diversity, programme, year),
        value_name=value_name,
        diversity_csv=url_for("pages.programme_year", programme=programme, year=year, table="diversity", format="csv"),
    )


# The characteristics the inspectorate's policy analyses findings by (domain.md, "Diversity"): charted.
CHARTED = ("gender", "ethnicity", "age_band", "disability", "looked_after")
DIVERSITY_CSV = (
    "characteristic",
    "value",
    "suppressed",
    "cases",
    "share",
    "area",
    "score",
    "sufficient",
    "applicable",
    "ci95_low",
    "ci95_high",
    "difference",
    "difference_ci95_low",
    "difference_ci95_high",
)


def _diversity(programme: str, year: str) -> dict[str, Any]:
    """The year's published figures by characteristic, as GET .../diversity answers them."""
    return year_diversity(programme, year, reader().year_profiles(programme, year), published_only=True)


def diversity_rows(diversity: dict[str, Any]) -> Iterable[Sequence[Any]]:
    """The diversity figures as CSV rows: one per characteristic, value and area (one per value if hidden)."""
    for name, values in diversity["characteristics"].items():
        for value, cell in values.items():
            if cell["suppressed"]:
                yield (name, value, "true", *[None] * 11)
                continue
            for area in diversity["areas"]:
                tally = cell["areas"][area]
                ci, difference = tally["ci95"] or (None, None), tally["difference"] or {}
                yield (
                    name,
                    value,
                    "false",
                    cell["cases"],
                    cell["share"],
                    area,
                    tally["score"],
                    tally["sufficient"],
                    tally["applicable"],
                    *ci,
                    difference.get("points"),
                    *(difference.get("ci95") or (None, None)),
                )


VALUE_NAMES = {"true": "yes", "false": "no", "null": "not recorded"}  # yes/no characteristics' values, in words


def value_name(value: str) -> str:
    return VALUE_NAMES.get(value, value.replace("_", " "))


def _diversity_charts(diversity: dict[str, Any], programme: str, year: str) -> list[tuple[str, Any]]:
    """Per area, the score of each value shown of the charted characteristics, with its 95% interval."""
    drawn = []
    for area in diversity["areas"]:
        items = [
            charts.Interval(
                f"{name.replace('_', ' ')}: {value_name(value)}", tally["score"], *(tally["ci95"] or (None, None))
            )
            for name in CHARTED
            for value, cell in diversity["characteristics"][name].items()
            if not cell["suppressed"] and cell["cases"] and (tally := cell["areas"][area])["applicable"]
        ]
        if items:
            drawn.append(
                (
                    area,
                    charts.scores_with_intervals(
                        f"{area.replace('_', ' ')} by characteristic, {programme} {year}", items
                    ),
                )
            )
    return drawn


def _areas_of(programme: str) -> tuple[str, ...]:
    return next((f.areas for f in FRAMEWORKS if f.programme == programme), ())


# -- consistency -----------------------------------------------------------------


@bp.get("/consistency")
@page_roles(*CONSISTENCY_READERS)
def consistency() -> Any:
    filters = {"programme": _choice("programme", PROGRAMMES), "year": _year()}
    view = reader().consistency(**filters)
    if wants_csv():
        return csv_response(
            "consistency-disagreements.csv",
            (
                "inspection_id",
                "case_ref",
                "programme",
                "year",
                "area",
                "criterion",
                "first",
                "moderated",
                "first_assessor",
                "first_assessor_role",
                "moderator",
            ),
            (
                (
                    d["inspection_id"],
                    d["case_ref"],
                    d["programme"],
                    d["year"],
                    d["area"],
                    d["criterion"],
                    _verdict(d["first"]),
                    _verdict(d["moderated"]),
                    d["first_assessor"]["name"],
                    d["first_assessor"]["role"],
                    d["moderator"],
                )
                for d in view["disagreements"]
            ),
        )
    assessors = [(f"{a['name']} ({a['role'].replace('_', ' ')})", a) for a in view["by_assessor"]]
    return render_template(
        "pages/consistency.html",
        view=view,
        filters=filters,
        programmes=PROGRAMMES,
        verdict=_verdict,
        assessors=assessors,
    )


def _verdict(value: bool | None) -> str:
    return {True: "sufficient", False: "insufficient", None: "not applicable"}[value]


# -- complaints ------------------------------------------------------------------


@bp.get("/complaints")
@page_roles(*READERS)
def complaints() -> Any:
    view = reader().complaints(clock.today(), organisation())
    if wants_csv():
        return csv_response(
            "complaints.csv",
            (
                "id",
                "inspection_id",
                "inspected_body",
                "category",
                "status",
                "received_on",
                "response_due_on",
                "overdue",
                "escalated",
                "outcome",
                "closed_on",
            ),
            (
                (
                    c["id"],
                    c["inspection_id"],
                    c["inspected_body"],
                    c["category"],
                    c["status"],
                    c["received_on"],
                    c["response_due_on"],
                    c["overdue"],
                    c["escalated"],
                    c["outcome"],
                    c["closed_on"],
                )
                for c in view["items"]
            ),
        )
    return render_template("pages/complaints.html", view=view, organisation_only=is_organisation())


# -- audit -----------------------------------------------------------------------


@bp.get("/audit")
@page_roles(*AUDITORS)
def audit() -> Any:
    verified = verify_record(application())
    head = record_head(application())
    if wants_csv():
        broken = verified.get("first_broken") or {}
        return csv_response(
            "audit.csv",
            ("ok", "checked", "head_position", "head_hash", "first_broken_position", "first_broken_reason"),
            [
                (
                    str(verified["ok"]).lower(),
                    verified["checked"],
                    head["position"],
                    head["hash"],
                    broken.get("position"),
                    broken.get("reason"),
                )
            ],
        )
    return render_template("pages/audit.html", verified=verified, head=head, now=clock.now())
