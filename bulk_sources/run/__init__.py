"""A run: settings, library entry points (entry.py), and its plan/send/record/rollback parts."""
