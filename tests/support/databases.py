"""Fresh, migrated databases per test: migrate a template once per backend, then copy it.

Each test's database is dropped (PostgreSQL) or deleted (SQLite) when the test ends, and the
template at the end of the session.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from sqlalchemy.engine import make_url

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

    def drop(self, url: str) -> None:
        path = Path(str(make_url(url).database))
        for suffix in ("", "-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)


class PostgresDatabases:
    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        migrate.upgrade(server.create_database(TEMPLATE_DB))

    def fresh(self) -> str:
        return self.server.create_database(f"test_{next(_counter)}", template=TEMPLATE_DB)

    def drop(self, url: str) -> None:
        self.server.drop_database(str(make_url(url).database))

    def close(self) -> None:
        self.server.drop_database(TEMPLATE_DB)
