"""One run, one project: a run folder is carried on only with the key it was started with.

run.json records the key's fingerprint (a one-way hash, never the key). resume, retry and
rollback compare it with the key they are given: another key may be of another project,
and then the run's rows end up split across two projects, and what the run made with one
key is invisible to the other (its listing, resume's settling and rollback see nothing of
it). `--force-other-key` overrides for a rotated key of the same project.
"""

from __future__ import annotations

from pathlib import Path

from ...api.apikey import ApiKey
from ...errors import OtherKeyRefused
from .folder import RunRecord

RISK = (
    "if it belongs to another project, the run's rows end up split across two projects and "
    "what the run made is invisible to this key (resume and rollback can't see it)"
)
FORCE_HELP = (
    "go on with another key than the run's, e.g. a rotated key of the same project; "
    f"the risk: {RISK}"
)


def other_key(run_dir: Path, record: RunRecord, fingerprint: str, doing: str) -> str | None:
    """The sentence refusing `doing` with a key other than the run's, or None (same key, or
    the run recorded none)."""
    known = record.key_fingerprint
    if not known or known == fingerprint:
        return None
    return (
        f"{run_dir} was run with another key (fingerprint {known}, this one is {fingerprint}), "
        f"maybe of another project; {doing} with it is refused: {RISK}. Use the run's key, or "
        "add --force-other-key when this key is for the same project"
    )


def forced_note(run_dir: Path) -> str:
    """What a report says when --force-other-key let another key go on."""
    return f"went on with another key than {run_dir}'s (--force-other-key): {RISK}"


def with_note(note: str, more: str | None) -> str:
    return "; ".join(n for n in (note, more) if n)


def same_key(
    run_dir: Path, record: RunRecord, api_key: ApiKey, force: bool, doing: str
) -> str | None:
    """One run, one project: refuse another key than the run's unless `force`; forced, the
    sentence the report says (what it risks)."""
    refused = other_key(run_dir, record, api_key.fingerprint, doing)
    if refused and not force:
        raise OtherKeyRefused(refused)
    return forced_note(run_dir) if refused else None
