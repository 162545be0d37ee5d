"""Each cell encoding and each column spelling."""

from __future__ import annotations

import pytest

from bulk_sources.catalog.cells import (
    REQUIRED_FIELDS,
    CellError,
    ColumnProblem,
    decode_bool,
    decode_id_type_mapping,
    decode_owner,
    decode_tags,
    decode_text,
    map_columns,
    target_of,
)
from bulk_sources.catalog.decoder import RowDecoder


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" Yes ", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("0", False),
        ("", None),
        ("  ", None),
        (None, None),
        (True, True),
        (False, False),
    ],
)
def test_booleans(cell: object, expected: bool | None) -> None:
    assert decode_bool(cell) is expected


@pytest.mark.parametrize("cell", ["maybe", "2", "y", "on", 2.5])
def test_bad_booleans_say_what_to_write(cell: object) -> None:
    with pytest.raises(CellError, match=r"is not a boolean; write true/false, yes/no or 1/0"):
        decode_bool(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("a;b;c", ["a", "b", "c"]),
        (" a ; b ;", ["a", "b"]),
        ("solo", ["solo"]),
        ('["a", "b,c"]', ["a", "b,c"]),
        ("[]", []),
        ("", None),
        (";", None),
        (None, None),
        (["x", "y"], ["x", "y"]),
    ],
)
def test_tags(cell: object, expected: list[str] | None) -> None:
    assert decode_tags(cell) == expected


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ('["a",', "is not valid JSON"),
        ("[1]", "tag 1 must be non-empty text"),
        ('["a", " "]', "tag 2 must be non-empty text"),
        (7, "must be a JSON array of strings or a;b;c, not a number"),
    ],
)
def test_bad_tags(cell: object, reason: str) -> None:
    with pytest.raises(CellError, match=reason):
        decode_tags(cell)


USER = {"statsigUnitID": "userID", "column": "user_id"}
STABLE = {"statsigUnitID": "stableID", "column": "stable_id"}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("userID=user_id", [USER]),
        ("userID=user_id;stableID=stable_id", [USER, STABLE]),
        (" userID = user_id ; stableID=stable_id ;", [USER, STABLE]),
        ('[{"statsigUnitID": "userID", "column": "user_id"}]', [USER]),
        ('[{"statsigUnitID": " userID ", "column": "user_id"}]', [USER]),
        ("[]", []),
        ("", None),
        (None, None),
        ([USER, STABLE], [USER, STABLE]),
    ],
)
def test_id_type_mapping(cell: object, expected: object) -> None:
    assert decode_id_type_mapping(cell) == expected


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("userID", "entry 1 'userID' lacks '='"),
        ("userID=", "entry 1 needs a non-empty column"),
        ("=user_id", "entry 1 needs a non-empty statsigUnitID"),
        ("userID=a;stableID", "entry 2 'stableID' lacks '='"),
        ('[{"statsigUnitID": "userID"}]', "entry 1 needs a non-empty column"),
        ('[{"unit": "userID", "column": "c"}]', "entry 1 has unknown key 'unit'"),
        ('["userID"]', "entry 1 must be an object with statsigUnitID and column"),
        ('{"statsigUnitID": "userID"}', "put [ ] around a single JSON object"),
        ("[{", "is not valid JSON"),
    ],
)
def test_bad_id_type_mapping(cell: object, reason: str) -> None:
    with pytest.raises(CellError, match=reason.replace("[", r"\[")):
        decode_id_type_mapping(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('{"ownerID": "u1", "ownerType": "USER"}', {"ownerID": "u1", "ownerType": "USER"}),
        ('{"ownerID": " u1 ", "ownerName": ""}', {"ownerID": "u1"}),
        ("{}", None),
        ("null", None),
        ("", None),
        ({"ownerID": "u1", "ownerEmail": None}, {"ownerID": "u1"}),
    ],
)
def test_owner(cell: object, expected: object) -> None:
    assert decode_owner(cell) == expected


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ('{"id": "u1"}', "has unknown key 'id'"),
        ('["u1"]', "must be a JSON object"),
        ("u1", "is not valid JSON"),
        ('{"ownerID": 5}', "ownerID must be text, not a number"),
    ],
)
def test_bad_owner(cell: object, reason: str) -> None:
    with pytest.raises(CellError, match=reason):
        decode_owner(cell)


def test_text_is_trimmed_and_empty_is_absent() -> None:
    assert decode_text("  a b  ") == "a b"
    assert decode_text(" \t ") is None
    with pytest.raises(CellError, match="must be text, not a number"):
        decode_text(3)


@pytest.mark.parametrize(
    ("column", "target"),
    [
        ("timestamp_column", "timestampColumn"),
        ("experiment_id_column", "experimentIDColumn"),
        ("group_id_column", "groupIDColumn"),
        ("id_type_mapping", "idTypeMapping"),
        ("is_verified", "isVerified"),
        ("is_read_only", "isReadOnly"),
        ("team_id", "teamID"),
        ("dry_run", "dryRun"),
        ("Name", "name"),
        (" SQL ", "sql"),
        ("experimentIdColumn", "experimentIDColumn"),
        ("owner.ownerID", "owner.ownerID"),
        ("owner.owner_email", "owner.ownerEmail"),
        ("owner_type", "owner.ownerType"),
        ("colour", None),
    ],
)
def test_column_aliases(column: str, target: str | None) -> None:
    assert target_of(column) == target


def test_map_columns_names_unknown_and_missing() -> None:
    cmap = map_columns(["name", "sql", "colour", "notes"])
    assert cmap.unknown == ("colour", "notes")
    assert cmap.missing == REQUIRED_FIELDS[2:]


def test_two_spellings_of_one_field_are_refused() -> None:
    with pytest.raises(ColumnProblem, match="'timestampColumn' and 'timestamp_column' both"):
        map_columns(["timestampColumn", "timestamp_column"])


def test_owner_column_and_owner_parts_are_refused() -> None:
    with pytest.raises(ColumnProblem, match=r"both an owner column and owner\.\* columns"):
        map_columns(["owner", "owner.ownerID"])


def test_row_decoder_assembles_owner_and_skips_empty_cells() -> None:
    header = [*REQUIRED_FIELDS, "description", "owner.ownerID", "owner.ownerType", "tags"]
    decoder = RowDecoder(map_columns(header))
    cells = ["n", "SELECT 1", "ts", "e", "g", "userID=u", "", "u1", " ", ""]
    body, errors = decoder.decode(cells)
    assert errors == []
    assert body == {
        "name": "n",
        "sql": "SELECT 1",
        "timestampColumn": "ts",
        "experimentIDColumn": "e",
        "groupIDColumn": "g",
        "idTypeMapping": [{"statsigUnitID": "userID", "column": "u"}],
        "owner": {"ownerID": "u1"},
    }


def test_row_decoder_reports_every_problem_in_column_order() -> None:
    header = ["name", "isVerified", *REQUIRED_FIELDS[1:]]
    decoder = RowDecoder(map_columns(header))
    _, errors = decoder.decode(["n", "maybe", "", "ts", "e", "g", "x"])
    errors = decoder.sort_errors([*errors, ("row", "r")])
    assert [field for field, _ in errors] == ["row", "isVerified", "sql", "idTypeMapping"]
