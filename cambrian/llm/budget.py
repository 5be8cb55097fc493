"""The run's allowance of LLM requests (``max_calls``): the unit users pay for.

Every request sent counts, retries included, from the moment it is sent, so requests
in flight count. A proposal that will ask a model reserves its first request when it
is asked for; the runner stops asking once sent plus reserved requests reach the
limit, and no request past the limit is ever sent.
"""

from __future__ import annotations


class CallBudget:
    def __init__(self, limit: int | None, *, used: int = 0):
        """``used``: requests already sent by this run (earlier sessions included)."""
        self.limit = limit
        self.used = used
        self._reserved: set[int] = set()

    @property
    def reserved(self) -> int:
        return len(self._reserved)

    @property
    def exhausted(self) -> bool:
        """No room for one more proposal's first request."""
        return self.limit is not None and self.used + len(self._reserved) >= self.limit

    def reserve(self, seq: int) -> None:
        if self.limit is not None:
            self._reserved.add(seq)

    def release(self, seq: int) -> None:
        self._reserved.discard(seq)

    def take(self, seq: int) -> bool:
        """Count one request about to be sent for candidate ``seq``; False: over the limit, do not send."""
        if seq in self._reserved:
            self._reserved.discard(seq)
        elif self.exhausted:
            return False
        self.used += 1
        return True
