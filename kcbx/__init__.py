"""kcbx 控辍保学: the dropout-control bot."""

import os

# PTB 22 warns on every RetryAfter unless durations are timedeltas; we use timedeltas.
os.environ.setdefault("PTB_TIMEDELTA", "1")
