"""Printouts that leave the clinic: the prior-authorisation packet and the clinician report."""
