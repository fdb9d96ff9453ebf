"""Work done once per deployment, whatever the number of bot processes: moderator alerts about
the provider account and the sweep of kept reference images run on the one process that holds
the duties lock; when it dies, another takes them over.

With SQLite there is one process, and it always holds the duties.
"""

from __future__ import annotations

import asyncio
import logging

from bot.storage.database import Database
from bot.storage.outage import describe, is_unreachable

log = logging.getLogger(__name__)

DUTIES_LOCK = ("sora-bot", "deployment-duties")
COMMAND_SYNC_LOCK = ("sora-bot", "command-sync")
# How often a process without the duties asks for them, and the holder checks it still has them.
DUTY_CHECK_SECONDS = 15.0


class DeploymentDuties:
    def __init__(self, db: Database, check_seconds: float = DUTY_CHECK_SECONDS) -> None:
        self.db = db
        self.check_seconds = check_seconds
        self._held = asyncio.Event()
        if not db.shared:
            self._held.set()  # the only process

    @property
    def held(self) -> bool:
        """True while this process does the once-per-deployment work."""
        return self._held.is_set()

    async def wait_until_held(self) -> None:
        await self._held.wait()

    async def run(self) -> None:
        """Take the duties when free and keep them while this process lives."""
        if not self.db.shared:
            return
        while True:
            try:
                async with self.db.deployment_lock(*DUTIES_LOCK) as hold:
                    if hold is not None:
                        log.info("this process now does the once-per-deployment work")
                        self._held.set()
                        while True:
                            await asyncio.sleep(self.check_seconds)
                            if not await hold.still_held():
                                break
                        log.warning("lost the once-per-deployment work (database session ended)")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is unreachable for now: try again later
                if is_unreachable(error):  # the worker tells of the outage itself
                    log.info("could not take the once-per-deployment work (%s)", describe(error))
                else:
                    log.warning("could not take the once-per-deployment work", exc_info=True)
            finally:
                self._held.clear()
            await asyncio.sleep(self.check_seconds)
