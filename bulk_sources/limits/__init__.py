"""Rate limits: windows, the multi-window limiter, the shared 429 pause, the budget memory."""
