"""A run: settings, plan, executor, journal, run folder, report, and the sessions over them."""
