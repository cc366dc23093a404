"""Patient self-report portal: single-use, expiring links to complete questionnaires by phone."""
