"""Treatment courses: an induction plan started from a signed, eligible screening and a recorded
consent, its states, and the course baseline the rating scales compare against."""
