"""Staff accounts, sessions, MFA, API tokens and permissions."""
