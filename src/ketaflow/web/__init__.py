"""Web layer: app factory, request guard, templates, static assets."""
