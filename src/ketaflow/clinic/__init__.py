"""The clinic's own profile: name, contact details, time zone, crisis lines, after-hours words."""
