"""Where seeding reads the time and waits: the :class:`Clock` protocol and the system clock."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Protocol

from awsrespond.timeutil import now_utc


class Clock(Protocol):
    """Where seeding reads the time and waits. It must agree with the emulator's clock (moto stamps
    creation times with the host's), so substitutes are for observing, not for time travel."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return now_utc()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
