"""SQL text before parsing: Statsig's own macros filled in, other platforms' templates refused.

Statsig fills in `{statsig_start_date}` and its siblings and runs every other character as it
is, so a GrowthBook `{{ startDate }}` or a config.yml `${VAR}` reaches the warehouse verbatim
and fails there, days after the source was created. No sqlglot here: this runs first and cheap.
"""

from __future__ import annotations

import re

# Values of the right type, so the parser sees what the warehouse would.
_MACROS = {
    "{statsig_start_date}": "'2025-03-01'",
    "{statsig_end_date}": "'2025-03-31'",
    "{statsig_start_date_int}": "20250301",
    "{statsig_end_date_int}": "20250331",
}
_NAME = r"\{statsig_(?:start|end)_date(?:_int)?\}"
_MACRO = re.compile(f"'{_NAME}'|{_NAME}")
_HANDLEBARS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_ENV = re.compile(r"\$\{[^}]*\}")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")

# GrowthBook's template variables (util/sql.ts) -> what to write for Statsig instead.
_START = "{statsig_start_date}"
_END = "{statsig_end_date}"
GROWTHBOOK_DATES: dict[str, str] = {
    "startDate": _START,
    "startDateISO": _START,
    "startDateUnix": f"your warehouse's epoch-seconds function of {_START}",
    "startYear": f"EXTRACT(YEAR FROM {_START})",
    "startMonth": f"EXTRACT(MONTH FROM {_START})",
    "startDay": f"EXTRACT(DAY FROM {_START})",
    "endDate": _END,
    "endDateISO": _END,
    "endDateUnix": f"your warehouse's epoch-seconds function of {_END}",
    "endYear": f"EXTRACT(YEAR FROM {_END})",
    "endMonth": f"EXTRACT(MONTH FROM {_END})",
    "endDay": f"EXTRACT(DAY FROM {_END})",
}


def _substitute(match: re.Match[str]) -> str:
    text = match.group(0)
    inner = text.strip("'")
    value = _MACROS[inner]
    # '{statsig_start_date}' written inside quotes already: keep one pair of them.
    return f"'{value.strip(chr(39))}'" if text.startswith("'") else value


def fill_macros(sql: str) -> str:
    """The SQL with Statsig's date macros replaced by sample values of their type."""
    if "{statsig_" not in sql:
        return sql
    return _MACRO.sub(_substitute, sql)


def _suggestion(template: str) -> str:
    for word in _WORD.findall(template):
        instead = GROWTHBOOK_DATES.get(word)
        if instead is not None:
            return f"; for GrowthBook's {word} write {instead}"
    return ""


def foreign_templates(sql: str) -> list[str]:
    """One reason per kind of template another platform fills in and Statsig does not."""
    reasons: list[str] = []
    if "{" not in sql:
        return reasons
    found = _HANDLEBARS.search(sql)
    if found is not None:
        template = found.group(0)
        reasons.append(
            f"the SQL holds the template {_short(template)} (Handlebars/Jinja, as GrowthBook "
            "writes them); Statsig fills in only its own {statsig_...} macros and would run "
            f"this text literally{_suggestion(template)}"
        )
    env = _ENV.search(sql)
    if env is not None:
        reasons.append(
            f"the SQL holds {_short(env.group(0))}, a variable GrowthBook's config.yml takes "
            "from the environment; Statsig would run it literally: put the value in the SQL"
        )
    return reasons


def _short(text: str, limit: int = 40) -> str:
    one_line = " ".join(text.split())
    return repr(one_line if len(one_line) <= limit else one_line[: limit - 3] + "...")
