"""GrowthBook's SQL templates (Handlebars) -> Statsig's Warehouse Native macros, where the
meaning is the same; everything else stays in the SQL, named, for a person to rewrite.

GrowthBook fills `{{startDate}}` with the text `yyyy-MM-dd HH:mm:ss` of a *timestamp* and the
SQL quotes it (`'{{startDate}}'`); Statsig replaces `{statsig_start_date}` with a DATE
expression (`DATE('2025-03-01')`), unquoted. So only a quoted date variable is translated,
quotes and all; `{{startYear}}{{startMonth}}{{startDay}}` and `{{date startDateISO
"yyyyMMdd"}}` are `{statsig_start_date_int}`. Which variables and helpers exist: GrowthBook's
util/sql.ts and docs/app/sql-templates.mdx.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_DATE_VARS = ("Date", "DateISO")
_TAG = re.compile(r"\{\{.*?\}\}", re.DOTALL)
# A typed literal around the quoted variable (`TIMESTAMP '{{startDate}}'`) goes with it:
# Statsig's macro is already a typed expression.
_LITERAL = r"(?:(?:TIMESTAMP|DATETIME|DATE)\s*)?"
_END_CAVEAT = (
    "GrowthBook's {{%s}} is a timestamp and {statsig_end_date} is a DATE (midnight): a "
    "timestamp column compared with `<=` now stops at the start of that day; compare the "
    "column's date if the last day matters"
)


@dataclass
class Translation:
    sql: str
    translated: list[str] = field(default_factory=list)  # "'{{startDate}}' -> {statsig_...}"
    untranslatable: list[str] = field(default_factory=list)  # the tags left in the SQL
    caveats: list[str] = field(default_factory=list)


def _rules() -> list[tuple[re.Pattern[str], str, str, str | None]]:
    """(pattern, replacement, what it was, caveat) in the order they are tried."""
    rules: list[tuple[re.Pattern[str], str, str, str | None]] = []
    for side in ("start", "end"):
        macro = f"{{statsig_{side}_date}}"
        int_macro = f"{{statsig_{side}_date_int}}"
        ymd = "".join(rf"\{{\{{\s*{side}{part}\s*\}}\}}" for part in ("Year", "Month", "Day"))
        rules.append(
            (
                re.compile(ymd),
                int_macro,
                f"{{{{{side}Year}}}}{{{{{side}Month}}}}{{{{{side}Day}}}}",
                None,
            )
        )
        for fmt, out in (("yyyyMMdd", int_macro), ("yyyy-MM-dd", None)):
            helper = rf"\{{\{{\s*date\s+{side}DateISO\s+\"{fmt}\"\s*\}}\}}"
            if out is not None:
                rules.append((re.compile(helper), out, f'{{{{date {side}DateISO "{fmt}"}}}}', None))
            else:
                rules.append(
                    (
                        re.compile(_LITERAL + "'" + helper + "'", re.IGNORECASE),
                        macro,
                        f"'{{{{date {side}DateISO \"{fmt}\"}}}}'",
                        None,
                    )
                )
        for suffix in _DATE_VARS:
            var = f"{side}{suffix}"
            pattern = re.compile(_LITERAL + rf"'\{{\{{\s*{var}\s*\}}\}}'", re.IGNORECASE)
            caveat = _END_CAVEAT % var if side == "end" else None
            rules.append((pattern, macro, f"'{{{{{var}}}}}'", caveat))
    return rules


_RULES = _rules()


def _literal(text: str) -> Callable[[re.Match[str]], str]:
    # A function replacement: the macro's braces must not be read as group references.
    return lambda _match: text


def translate(sql: str) -> Translation:
    """The SQL with every translatable template replaced; the rest listed, left in place."""
    out = Translation(sql)
    for pattern, replacement, what, caveat in _RULES:
        new, count = pattern.subn(_literal(replacement), out.sql)
        if count:
            out.sql = new
            out.translated.append(f"{what} -> {replacement}")
            if caveat is not None:
                out.caveats.append(caveat)
    out.untranslatable = list(dict.fromkeys(_TAG.findall(out.sql)))
    return out


def why_not(tag: str) -> str:
    """Why a template left in the SQL has no Statsig equivalent, for the row's note."""
    inner = tag.strip("{}~ ").strip()
    word = inner.split()[0] if inner.split() else inner
    if word.startswith(("#", "/", "else")):
        return f"{tag} (a Handlebars block; Statsig runs the SQL as written)"
    if word.startswith("!"):
        return f"{tag} (a Handlebars comment; delete it or make it an SQL comment)"
    if word == "experimentId":
        return f"{tag} (the experiment's tracking key; Statsig has no such macro)"
    if word.startswith("phase"):
        return f"{tag} (the experiment phase; Statsig has no such macro)"
    if word.startswith("customFields"):
        return f"{tag} (a custom field; Statsig has no such macro)"
    if re.fullmatch(r"(start|end)(Date|DateISO|DateUnix|Year|Month|Day)", word):
        return f"{tag} (not in a form with the same meaning as a Statsig date macro)"
    return f"{tag} (a helper or variable Statsig does not have)"
