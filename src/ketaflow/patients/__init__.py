"""Patient registry: demographics (amended, never overwritten), measurements, allergies,
diagnosis, medications and prior treatment trials."""
