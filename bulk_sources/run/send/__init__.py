"""Sending planned rows: the executor, a row's task and outcomes, patience, signals, progress."""
