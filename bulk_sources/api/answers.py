"""What an answer from the API means for the run: `Answer`, its `AnswerKind`, and `classify`.

Every bit of server text in an `Answer` has gone through `redact.server_text` (messages) or
`redact.redact_value` (JSON kept as data), so the key can't leak from here to a report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..models import ListedSource
from .redact import looks_like_html, redact_value, server_text, summarise_html


class AnswerKind(Enum):
    OK = "ok"  # 2xx
    EXISTS = "exists"  # 409, or a 4xx whose wording says the name is taken (a hint only)
    REJECTED = "rejected"  # any other 4xx but 401/403/429: permanent for this body
    AUTH = "auth"  # 401/403: the key is wrong for every row
    RATE_LIMITED = "rate_limited"  # 429
    SERVER_ERROR = "server_error"  # 5xx: transient
    NO_ANSWER = "no_answer"  # timeout or a connection lost after sending: may have happened
    NOT_SENT = "not_sent"  # could not connect at all: certainly did not happen
    REDIRECTED = "redirected"  # 3xx: not followed (the key stays home); --base-url is wrong
    CERTIFICATE = "certificate"  # TLS refused: no retry can fix it; stop with the SSL hint


# Answers that are the same for every row: the run stops at the first one.
STOPS_RUN = frozenset({AnswerKind.AUTH, AnswerKind.REDIRECTED, AnswerKind.CERTIFICATE})
TRANSIENT = frozenset({AnswerKind.SERVER_ERROR, AnswerKind.NO_ANSWER, AnswerKind.NOT_SENT})


@dataclass(frozen=True)
class Answer:
    kind: AnswerKind
    status: int | None
    message: str
    data: ListedSource | None = None
    retry_after: str | None = None
    body: Any = None  # the whole JSON body (key redacted), for the listing
    truncated: bool = False  # the body was longer than the client reads
    # A refusal's `errors` list as (field, message) per entry ("" where it names none)
    problems: tuple[tuple[str, str], ...] = ()

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT

    @property
    def stops_run(self) -> bool:
        return self.kind in STOPS_RUN


# Statsig words a taken name differently per entity ("Name is already in use", "... already
# exists with name ...", "Name already taken"); the wording is undocumented for assignment
# sources, so this is a hint: the plan settles a lost answer by listing, not by wording.
_TAKEN = re.compile(r"\balready\b.*\b(?:in use|exists?|taken|used|registered)\b", re.I | re.S)


def says_already_exists(message: str) -> bool:
    return bool(_TAKEN.search(message))


def classify(
    status: int,
    body: Any,
    text: str,
    retry_after: str | None,
    *,
    secret: str | None = None,
    content_type: str | None = None,
    redirect_to: str | None = None,
) -> Answer:
    """The answer's meaning. `secret` is the key sent, masked wherever the server echoes it;
    `redirect_to` the (already cleaned) host a 3xx pointed at."""
    message = _message(status, body, text, secret, content_type)
    if 200 <= status < 300:
        data = body.get("data") if isinstance(body, dict) else None
        return Answer(
            AnswerKind.OK,
            status,
            message,
            redact_value(data, secret) if isinstance(data, dict) else None,
            body=redact_value(body, secret),
        )
    if 300 <= status < 400:
        where = f" to {redirect_to}" if redirect_to else ""
        return Answer(
            AnswerKind.REDIRECTED,
            status,
            f"HTTP {status}: the API redirected{where}; not followed, so the key went nowhere "
            "else (check --base-url)",
        )
    if status in (401, 403):
        return Answer(AnswerKind.AUTH, status, message)
    if status == 429:
        return Answer(AnswerKind.RATE_LIMITED, status, message, retry_after=retry_after)
    if status >= 500:
        return Answer(AnswerKind.SERVER_ERROR, status, message)
    if status == 409 or says_already_exists(message):
        return Answer(AnswerKind.EXISTS, status, message)
    problems = tuple(named_errors(body, secret)) if isinstance(body, dict) else ()
    return Answer(AnswerKind.REJECTED, status, message, problems=problems)


def named_errors(body: dict[str, Any], secret: str | None = None) -> list[tuple[str, str]]:
    """A 4xx body's `errors` list (seen on validation errors; its shape is undocumented) as
    (field, message): entries may be strings or objects with a field and a message."""
    errors = body.get("errors")
    if not isinstance(errors, list):
        return []
    out = []
    for item in errors[:20]:
        if isinstance(item, dict):
            keys = ("field", "property", "path", "param", "name")
            where = next((str(item[k]) for k in keys if item.get(k)), "")
            what = str(item.get("message") or item.get("msg") or item.get("error") or "")
        elif item is not None:
            where, what = "", str(item)
        else:
            continue
        where, what = server_text(where, secret), server_text(what, secret)
        if where or what:
            out.append((where, what))
    return out


def error_details(body: dict[str, Any], secret: str | None = None) -> str:
    """The `errors` list as text that names the fields, for the answer's message."""
    parts = [f"{at}: {why}" if at and why else at or why for at, why in named_errors(body, secret)]
    text = server_text("; ".join(parts), secret)  # the whole of it shortened too
    return f" ({text})" if text else ""


def _message(
    status: int, body: Any, text: str, secret: str | None, content_type: str | None
) -> str:
    raw = body.get("message") if isinstance(body, dict) else None
    details = error_details(body, secret) if isinstance(body, dict) and status >= 400 else ""
    if raw is not None and raw != "":
        text = server_text(raw if isinstance(raw, str) else str(raw), secret) or f"HTTP {status}"
        return text + details
    if details:
        return details.strip(" ()")
    if looks_like_html(text, content_type):
        return summarise_html(status, text, secret)
    return server_text(text, secret) or f"HTTP {status}"
