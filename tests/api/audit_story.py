"""One story that records every event type: a report of concern, its reinspection, a complaint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from application.app import InspectorateApp
from domain.base import Actor
from tests.factories import body, characteristics, judgements

ANN = Actor("Ann Inspector", "inspector", id="token-ann")
QUINN = Actor("Quinn Reviewer", "qa_reviewer", id="token-quinn")
ADA = Actor("Ada Admin", "admin", id="token-ada")


@dataclass
class Story:
    inspection_id: UUID
    case_ids: list[UUID]
    reinspection_id: UUID
    follow_up_id: UUID
    complaint_id: UUID


def record_every_type(app: InspectorateApp, name: str = "Cumbria") -> Story:
    inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(name), date(2011, 5, 3)).body["id"])
    app.start_fieldwork(ANN, inspection_id)
    case_ids = [UUID(app.add_case(ANN, inspection_id, f"C{n}", characteristics()).body["id"]) for n in range(3)]
    for case_id, verdict in zip(case_ids, (False, False, True), strict=True):  # 33%: of concern
        app.rate_case(ANN, case_id, judgements(verdict))
    app.moderate_case(QUINN, case_ids[0], judgements(True)[:2], "second look")
    app.complete_fieldwork(ANN, inspection_id)
    published = app.publish(ANN, inspection_id, date(2012, 1, 10)).body
    reinspection_id = UUID(published["reinspection"]["id"])
    app.mark_due_reinspections(date(2013, 1, 10))

    follow_up_id = UUID(app.schedule_inspection(ANN, "OMI2", body(name), date(2013, 2, 4)).body["id"])
    app.schedule_reinspection(ANN, reinspection_id, follow_up_id)
    app.start_fieldwork(ANN, follow_up_id)
    follow_up_case = UUID(app.add_case(ANN, follow_up_id, "R1", characteristics()).body["id"])
    app.rate_case(ANN, follow_up_case, judgements(True))
    app.complete_fieldwork(ANN, follow_up_id)
    app.publish(ANN, follow_up_id, date(2013, 6, 1))

    complaint_id = UUID(
        app.receive_complaint(
            Actor(f"{name} rep", "organisation", organisation=name, id=f"token-{name.lower()}-rep"),
            inspection_id,
            "report_wording",
            "The wording of page 3",
        ).body["id"]
    )
    app.acknowledge_complaint(ANN, complaint_id)
    app.respond_to_complaint(ANN, complaint_id, "We have reviewed it")
    app.escalate_complaint(ANN, complaint_id, "Not satisfied")
    app.respond_to_complaint(ANN, complaint_id, "Reviewed again")
    app.close_complaint(ANN, complaint_id, "partly_upheld")
    return Story(inspection_id, case_ids, reinspection_id, follow_up_id, complaint_id)


def record_2018_types(app: InspectorateApp, name: str = "Durham Tees Valley CRC") -> UUID:
    """A PROBATION-2018 inspection that records the 2018 framework's events: caseload, key-question
    judgements and their moderation, a short sample, standard ratings and an override, the ratings."""
    inspection_id = UUID(app.schedule_inspection(ANN, "PROBATION", body(name, "crc"), date(2019, 3, 4)).body["id"])
    app.start_fieldwork(ANN, inspection_id)
    app.record_caseload(ANN, inspection_id, 40, {"gender": {"male": 30, "female": 10}})
    case_id = UUID(app.add_case(ANN, inspection_id, "P1", characteristics()).body["id"])
    key_questions = [
        {"standard": "2.1", "question": q, "sufficient": True} for q in ("engagement", "desistance", "keeping_safe")
    ]
    app.rate_case(ANN, case_id, key_questions)
    app.moderate_case(QUINN, case_id, [{**key_questions[0], "sufficient": False}], "second look")
    app.complete_fieldwork(ANN, inspection_id, short_sample_reason="a small division this year")
    for code in ("1.1", "1.2", "1.3", "1.4", "4.1", "4.2"):
        app.rate_standard(ANN, inspection_id, code, "good", "seen on site")
    app.rate_standard(ANN, inspection_id, "2.1", "good", "one case is too few to call it outstanding")
    app.publish(ANN, inspection_id, date(2019, 6, 1))
    app.erase_case(ADA, case_id, "the person asked for erasure")  # case.personal_data_erased.v1 and its echo
    return inspection_id


def record_recommendation_types(app: InspectorateApp, name: str = "Lancashire") -> UUID:
    """Recommendations and a joint thematic: made, published, answered, progress, overdue, judged by the
    reinspection and fixed by its publication. Returns the origin inspection's id."""
    rep = Actor(f"{name} rep", "organisation", organisation=name, id=f"token-{name.lower()}-rep")
    inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(name), date(2011, 5, 3)).body["id"])
    answered = UUID(app.make_recommendation(ANN, inspection_id, name, "Review every risk plan.").body["id"])
    ignored = UUID(app.make_recommendation(ANN, inspection_id, "HMPPS", "Fund the training.").body["id"])
    app.start_fieldwork(ANN, inspection_id)
    case_id = UUID(app.add_case(ANN, inspection_id, "C1", characteristics()).body["id"])
    app.rate_case(ANN, case_id, judgements(False))
    app.complete_fieldwork(ANN, inspection_id)
    reinspection_id = UUID(app.publish(ANN, inspection_id, date(2012, 1, 10)).body["reinspection"]["id"])
    app.respond_to_recommendation(rep, answered, "agreed", "By March.")
    app.report_recommendation_progress(rep, answered, "in_progress")
    app.mark_overdue_responses(date(2012, 3, 7))
    follow_up = UUID(app.schedule_inspection(ANN, "OMI2", body(name), date(2013, 2, 4)).body["id"])
    app.schedule_reinspection(ANN, reinspection_id, follow_up)
    app.start_fieldwork(ANN, follow_up)
    follow_up_case = UUID(app.add_case(ANN, follow_up, "R1", characteristics()).body["id"])
    app.rate_case(ANN, follow_up_case, judgements(True))
    app.complete_fieldwork(ANN, follow_up)
    app.judge_recommendation(ANN, answered, "achieved", "Every plan reviewed.")
    app.judge_recommendation(ANN, ignored, "not_achieved")
    app.publish(ANN, follow_up, date(2013, 6, 1))
    thematic = UUID(
        app.announce_thematic(
            ANN, "Domestic abuse", "domestic abuse", "adult", ["HM Inspectorate of Prisons"], date(2018, 5, 18)
        ).body["id"]
    )
    app.start_thematic_fieldwork(ANN, thematic, date(2018, 6, 4))
    app.record_thematic_findings(ANN, thematic, "Victims were rarely contacted.")
    app.make_recommendation(ANN, thematic, name, "Contact every victim.")
    app.publish_thematic(ANN, thematic, date(2018, 12, 3))
    return inspection_id


def record_register_types(app: InspectorateApp) -> UUID:
    """The register's and selection's events: a succession, a year's figures, a plan drawn up and redrawn."""
    trust = UUID(app.register_body(ANN, "Cumbria Trust", "probation_trust", "North West").body["id"])
    crc = UUID(app.register_body(ANN, "Cumbria CRC", "crc", "North West", [trust]).body["id"])
    app.record_indicators(ANN, crc, "2017-18", {"caseload": 2400, "reoffending_rate": 31.5})
    app.draw_up_plan(ANN, "PROBATION", "2018-19")
    app.draw_up_plan(ANN, "PROBATION", "2018-19", 5)
    return crc
