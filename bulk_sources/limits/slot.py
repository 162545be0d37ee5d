"""A Slot: one request admitted by the limiter, holding its place in every window until its
answer comes back (release: stamped now) or it turns out never to have been sent (cancel)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .limiter import MultiWindowLimiter

__all__ = ["Slot"]


class Slot:
    """One admitted request; the first of release() or cancel() takes effect."""

    __slots__ = ("_limiter", "admitted_at", "cancelled", "seq", "stamp")

    def __init__(self, limiter: MultiWindowLimiter, admitted_at: float, seq: int) -> None:
        self._limiter: MultiWindowLimiter | None = limiter
        self.admitted_at = admitted_at
        self.seq = seq  # admission order: what was admitted before this one
        self.stamp: float | None = None
        self.cancelled = False

    @property
    def open(self) -> bool:
        return self._limiter is not None

    def release(self, *, refused: bool = False) -> None:
        """The answer (or error, or timeout) came back: stamp the log with now. `refused`
        (a 429): the slot goes to the next request only after the caller has applied it."""
        limiter, self._limiter = self._limiter, None
        if limiter is not None:
            self.stamp = limiter._finish(self, stamped=True, refused=refused)

    def cancel(self) -> None:
        """The request was never sent: free the slot without a stamp."""
        limiter, self._limiter = self._limiter, None
        if limiter is not None:
            self.cancelled = True
            limiter._finish(self, stamped=False)

    def __repr__(self) -> str:
        state = "open" if self.open else "cancelled" if self.cancelled else f"stamp={self.stamp}"
        return f"<Slot admitted_at={self.admitted_at} {state}>"
