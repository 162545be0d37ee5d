"""Undoing a run: which rows to undo, what each needs now, and the rollback's run kind."""
