"""The SQL check: templates, macros, syntax, output columns, dialect folding, the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from catalog_helpers import good, write_csv

from bulk_sources.catalog.reader import open_catalog
from bulk_sources.catalog.sql import SqlCheck
from bulk_sources.catalog.validation import validate_catalog

COLUMNS = "user_id, ts, exp, grp"


def _body(sql: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sql": sql,
        "timestampColumn": "ts",
        "experimentIDColumn": "exp",
        "groupIDColumn": "grp",
        "idTypeMapping": [{"statsigUnitID": "userID", "column": "user_id"}],
    }
    body.update(changes)
    return body


def _errors(sql: str, dialect: str | None = None, **changes: Any) -> list[tuple[str, str]]:
    errors, warnings = SqlCheck(dialect).check(_body(sql, **changes))
    assert warnings == []
    return errors


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT {COLUMNS} FROM t",
        f"SELECT {COLUMNS} FROM t;",
        "SELECT a.user_id, b.ts AS ts, exp, grp FROM a JOIN b USING (k)",
        f"WITH x AS (SELECT {COLUMNS} FROM t) SELECT * FROM x",
        "WITH x AS (SELECT uid AS user_id, ts, exp, grp FROM t) SELECT x.* FROM x",
        f"SELECT * FROM (SELECT {COLUMNS} FROM t) AS s",
        f"SELECT {COLUMNS} FROM t UNION ALL SELECT a, b, c, d FROM u",
        "SELECT * FROM t",  # a table's columns are the warehouse's to know: no guess
        "WITH x AS (SELECT * FROM t) SELECT * FROM x",
        "SELECT USER_ID, TS, EXP, GRP FROM t",  # no dialect: case never decides
        f"SELECT {COLUMNS} FROM t WHERE d BETWEEN {{statsig_start_date}} AND {{statsig_end_date}}",
        f"SELECT {COLUMNS} FROM t WHERE d >= '{{statsig_start_date}}' AND i <= "
        "{statsig_end_date_int} AND j >= {statsig_start_date_int}",
        f"SELECT {COLUMNS} FROM t WHERE x = ?",  # a dialect-specific oddity: some dialect reads it
    ],
)
def test_sql_that_returns_every_mapped_column_passes(sql: str) -> None:
    assert _errors(sql) == []


def test_an_alias_hides_the_column_and_the_error_names_outputs_and_closest() -> None:
    assert _errors("SELECT user_id AS uid, ts, exp, grp FROM t") == [
        (
            "idTypeMapping",
            "column 'user_id' is not among the columns the SQL returns (uid, ts, exp, grp); "
            "closest: 'uid'; Statsig would fail to load the source",
        )
    ]


def test_every_mapped_field_is_checked_including_group_name() -> None:
    errors = _errors(
        "WITH x AS (SELECT user_id, ts, exp FROM t) SELECT * FROM x", groupNameColumn="grp_name"
    )
    assert [f for f, _ in errors] == ["groupIDColumn", "groupNameColumn"]


def test_snowflake_folds_unquoted_names_up_and_keeps_quoted_ones() -> None:
    assert _errors("SELECT USER_ID, Ts, exp, grp FROM t", "snowflake") == []
    errors = _errors('SELECT "user_id", ts, exp, grp FROM t', "snowflake")
    assert errors == [
        (
            "idTypeMapping",
            "the SQL returns 'user_id' quoted, and snowflake compares quoted names by case, so "
            "'user_id' is not among its columns: drop the quotes or match the case; Statsig "
            "would fail to load the source",
        )
    ]
    assert _errors('SELECT "USER_ID", ts, exp, grp FROM t', "snowflake") == []
    assert _errors('SELECT "user_id", ts, exp, grp FROM t', "postgres") == []


def test_growthbook_templates_are_errors_with_the_statsig_macro_to_use() -> None:
    (error,) = _errors(f"SELECT {COLUMNS} FROM t WHERE ts >= '{{{{ startDateISO }}}}'")
    assert error == (
        "sql",
        "the SQL holds the template '{{ startDateISO }}' (Handlebars/Jinja, as GrowthBook "
        "writes them); Statsig fills in only its own {statsig_...} macros and would run this "
        "text literally; for GrowthBook's startDateISO write {statsig_start_date}",
    )
    (helper,) = _errors(f'SELECT {COLUMNS} FROM t WHERE y = {{{{date endDate "yyyy"}}}}')
    assert helper[1].endswith("for GrowthBook's endDate write {statsig_end_date}")
    (block,) = _errors(f"SELECT {COLUMNS} FROM t {{% if x %}}WHERE a{{% endif %}}")
    assert "Statsig fills in only its own" in block[1]
    assert "for GrowthBook" not in block[1]


def test_an_environment_variable_is_an_error() -> None:
    assert _errors(f"SELECT {COLUMNS} FROM ${{SCHEMA}}.t") == [
        (
            "sql",
            "the SQL holds '${SCHEMA}', a variable GrowthBook's config.yml takes from the "
            "environment; Statsig would run it literally: put the value in the SQL",
        )
    ]


def test_a_syntax_error_says_line_and_column() -> None:
    assert _errors("SELECT user_id, ts\nFROM t WHERE (a") == [
        ("sql", "syntax error at line 2, column 15: Expecting ) near 'a'")
    ]
    assert _errors("SELECT 'open FROM t") == [
        ("sql", "the SQL can't be read: a quote or comment is never closed")
    ]


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        ("SELECT FROM WHERE", "Expected table name but got 'WHERE' near 'WHERE'"),
        ("SELECT a FROM t WHERE", "WHERE is incomplete near 'WHERE'"),
        ("SELECT a FROM t JOIN", "Expected table name but got the end of the SQL near 'JOIN'"),
    ],
)
def test_a_syntax_error_names_the_sqls_words_not_the_parsers_objects(sql: str, said: str) -> None:
    # sqlglot describes these with its own reprs: "<Token token_type: TokenType.WHERE, ...>"
    # and "Required keyword: 'this' missing for <class 'sqlglot.expressions...Where'>".
    ((field, reason),) = _errors(sql)
    assert field == "sql" and reason.endswith(said)
    assert "<" not in reason and "TokenType" not in reason and "sqlglot" not in reason


def test_two_statements_are_an_error() -> None:
    assert _errors(f"SELECT {COLUMNS} FROM t; DROP TABLE t") == [
        ("sql", "the SQL holds 2 statements; Statsig runs exactly one query")
    ]


def test_no_dialect_reports_only_what_every_dialect_rejects() -> None:
    # Backticks are BigQuery's and MySQL's quotes; the generic reader balks, others don't.
    sql = "SELECT user_id, ts, exp, grp FROM `proj.ds.t` QUALIFY ROW_NUMBER() OVER (x) = 1"
    assert _errors(sql) == []


def test_a_parser_crash_is_a_warning_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from bulk_sources.catalog.sql import parse

    def crash(text: str, dialect: str | None) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(parse, "_parse", crash)
    errors, warnings = SqlCheck().check(_body(f"SELECT {COLUMNS} FROM t"))
    assert errors == []
    assert warnings == [
        (
            "sql",
            "could not analyse this SQL (parser: RecursionError: maximum recursion depth exceeded)",
        )
    ]


def test_an_unknown_dialect_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown SQL dialect 'snowflak'; choose one of .*"
        r"bigquery.*snowflake",
    ):
        SqlCheck("snowflak")


def test_each_distinct_sql_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from bulk_sources.catalog.sql import parse

    calls: list[str] = []
    real = parse.analyse

    def counting(text: str, dialect: str | None) -> Any:
        calls.append(text)
        return real(text, dialect)

    monkeypatch.setattr(parse, "analyse", counting)
    check = SqlCheck()
    for i in range(30):
        check.check(_body(f"SELECT {COLUMNS} FROM t{i % 3}"))
    assert len(calls) == 3


def test_validate_catalog_makes_sql_errors_row_errors(tmp_path: Path) -> None:
    rows = [
        good("a"),
        good("b", sql="SELECT user_id, ts, exp FROM t"),
        good("c", sql="SELECT user_id, ts, exp, grp FROM t WHERE d = '{{ startDate }}'"),
    ]
    path = write_csv(tmp_path / "c.csv", rows)
    report = validate_catalog(open_catalog(path), keep_valid=True)
    assert report.valid_count == 1
    assert [v.name for v in report.valid] == ["a"]
    assert {row: [e.field for e in errors] for row, errors in report.invalid.items()} == {
        2: ["groupIDColumn"],
        3: ["sql"],
    }
    off = validate_catalog(open_catalog(path), check_sql=False)
    assert off.valid_count == 3


def test_cli_dialect_is_used_and_an_unknown_one_lists_the_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bulk_sources.cli.main import main

    path = write_csv(tmp_path / "c.csv", [good("a", sql='SELECT "user_id", ts, exp, grp FROM t')])
    assert main(["validate", str(path)]) == 0
    assert main(["validate", str(path), "--dialect", "postgres"]) == 0
    assert main(["validate", str(path), "--dialect", "Snowflake"]) == 1
    out, _ = capsys.readouterr()
    assert "row 1 (a): idTypeMapping: the SQL returns 'user_id' quoted, and snowflake" in out
    with pytest.raises(SystemExit) as stop:
        main(["validate", str(path), "--dialect", "snowflak"])
    assert stop.value.code == 2
    _, err = capsys.readouterr()
    assert "unknown SQL dialect 'snowflak'; choose one of athena, bigquery," in err
    assert "Traceback" not in err


def test_the_dialect_is_a_recorded_setting() -> None:
    from bulk_sources.errors import UsageError
    from bulk_sources.run.settings import SubmitSettings

    settings = SubmitSettings(dialect="bigquery")
    assert SubmitSettings.from_json(settings.to_json()).dialect == "bigquery"
    with pytest.raises(UsageError, match="--dialect: unknown SQL dialect 'nosuch'"):
        SubmitSettings.from_json({**settings.to_json(), "dialect": "nosuch"})
