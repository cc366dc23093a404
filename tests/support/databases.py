"""Fresh, migrated databases per test: migrate a template once per backend, then copy it."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from ketaflow import migrate
from tests.support.postgres import PostgresServer

TEMPLATE_DB = "ketaflow_template"
_counter = itertools.count(1)


class SqliteDatabases:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.db"
        migrate.upgrade(f"sqlite:///{self.template}")

    def fresh(self) -> str:
        target = self.root / f"test_{next(_counter)}.db"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"


class PostgresDatabases:
    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        with server.admin_conn() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        migrate.upgrade(server.url(TEMPLATE_DB))

    def fresh(self) -> str:
        name = f"test_{next(_counter)}"
        with self.server.admin_conn() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
        return self.server.url(name)
