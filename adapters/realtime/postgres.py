"""PostgreSQL-native wake-ups: LISTEN on one direct connection per process, in autocommit.

A statement trigger on ``change_log`` sends ``NOTIFY arccm_changes, '<schema>'``
from the writing transaction, so the wake-up arrives only after the commit.
LISTEN does not survive a transaction-pooling pgbouncer: give this connection a
direct (or session-pooled) route to the server.
"""

from __future__ import annotations

import attrs
import psycopg

from arccm.adapters.postgres.database import Database
from arccm.adapters.realtime.pump import WakeupLost
from arccm.domain.access import Actor

CHANNEL = "arccm_changes"


@attrs.define
class PostgresWakeups:
    database: Database
    _connection: psycopg.Connection[tuple[object, ...]] | None = None

    @property
    def application_name(self) -> str:
        return f"arccm-listener:{self.database.schema}"[:63]

    def connect(self) -> None:
        self.close()
        url = self.database.app_url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._connection = psycopg.connect(
                url, autocommit=True, application_name=self.application_name, connect_timeout=5
            )
            self._connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as error:
            raise WakeupLost(str(error)) from error

    def wait(self, timeout: float) -> bool:
        if self._connection is None:
            raise WakeupLost("not connected")
        try:
            for notify in self._connection.notifies(timeout=timeout, stop_after=1):
                if notify.payload == self.database.schema:
                    return True
            return False
        except psycopg.Error as error:
            raise WakeupLost(str(error)) from error

    def follow(self, actors: frozenset[Actor]) -> None:
        """Every wake-up goes to the whole process; the feed's read applies each actor's scope."""

    def interrupt(self) -> None:
        """A blocked ``notifies()`` cannot be woken from another thread; the wait ends within the poll timeout."""

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
