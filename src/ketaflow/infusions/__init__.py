"""Infusion sessions at the chair: pure rules (`rules/`), persistence, services, pages and API.

`ketaflow.infusions.rules` is a pure core (stdlib, dosing, scales and pk only); this package
file imports nothing so that importing the rules never pulls in the database or the web layer.
"""
