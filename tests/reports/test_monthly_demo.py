"""After `ketaflow demo seed` last month's clinic report is not empty (what `make run` shows a
director): infusions were given, an induction ended with MADRS ratings, and its PDF prints."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketaflow.db import utcnow
from ketaflow.demo import seed_demo
from ketaflow.reports import service
from ketaflow.reports.monthly.month import last_month
from ketaflow.reports.monthly.pdf import monthly_pdf
from ketaflow.reports.monthly.view import monthly_view
from tests.support.factories import SYSTEM
from tests.support.pdftext import page_texts


def test_last_month_has_a_report_after_the_demo_seed(db: Session) -> None:
    seed_demo(db, SYSTEM)
    today = utcnow().date()
    report = service.monthly_report(db, SYSTEM, month=last_month(today), site_id=None,
                                    zone="UTC", today=today, small_cells=True,
                                    formats=("pdf",))
    assert not report.empty
    assert report.activity.infusions > 0
    assert report.outcomes.courses > 0 and report.outcomes.endpoint("madrs").evaluable > 0
    view = monthly_view(report)
    assert view.weekly_spec is not None
    text = " ".join(page_texts(monthly_pdf(view, printout=service.clinic_printout(
        db, SYSTEM, zone="UTC"))))
    assert "Monthly clinic report" in text and "nothing to count" not in text
