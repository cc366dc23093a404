"""Eligibility screening (checklist, baseline vitals and YMRS, treatment resistance, Maudsley
score), prescriber sign-off with locking and amendments, and off-label informed consent."""
