"""The CLI entry points: output and exit codes (0 ok, 1 tampered record, 2 bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engage.lottery.cli import main, main_select, main_verify

CATEGORIES = "category,feature,min,max\ngender,f,2,3\ngender,m,2,3\nage,young,1,4\nage,old,1,4\n"
RESPONDENTS = "id,gender,age\n" + "".join(
    f"r{i},{'fm'[i % 2]},{('young', 'old')[i % 3 == 0]}\n" for i in range(14)
)


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "c.csv").write_text(CATEGORIES)
    (tmp_path / "r.csv").write_text(RESPONDENTS)
    return tmp_path / "r.csv", tmp_path / "c.csv"


def _select(files: tuple[Path, Path], *extra: str, size: int = 5) -> list[str]:
    r, c = files
    return [
        "--respondents",
        str(r),
        "--categories",
        str(c),
        "--size",
        str(size),
        *extra,
    ]


def test_select_json_reports_panel_probabilities_and_record(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_select(_select(files, "--seed", "s1", "--json", "--panels", "50")) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["panel"]) == 5 and out["seed"] == ["s1"]
    assert out["min_probability"] == min(out["probabilities"].values())
    assert set(out) >= {
        "panel",
        "probabilities",
        "min_probability",
        "seconds",
        "seed",
        "record",
    }


@pytest.mark.parametrize("algorithm", ["leximin", "maximin", "legacy"])
def test_select_prints_a_readable_panel(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], algorithm: str
) -> None:
    assert main_select(_select(files, "--algorithm", algorithm, "--panels", "50")) == 0
    assert "minimum selection probability" in capsys.readouterr().out


def test_verify_exits_0_for_a_good_record_and_1_for_a_tampered_one(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "rec.json"
    assert main_select(_select(files, "--seed", "x", "--record", str(rec), "--panels", "50")) == 0
    assert main_verify([str(rec), "--respondents", str(files[0])]) == 0
    record = json.loads(rec.read_text())
    record["index"] = (record["index"] + 1) % len(record["panels"])
    rec.write_text(json.dumps(record))
    capsys.readouterr()
    assert main_verify([str(rec), "--respondents", str(files[0])]) == 1
    assert "index" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("respondents", "categories", "size", "message"),
    [
        (
            RESPONDENTS,
            CATEGORIES.replace("gender,f,2,3", "gender,f,5,5"),
            5,
            "minimums",
        ),
        (RESPONDENTS, CATEGORIES, 15, "exceeds"),
        (RESPONDENTS.replace("gender,age", "sex,age"), CATEGORIES, 5, "missing column"),
        (RESPONDENTS.replace("r3,m,old", "r3,x,old"), CATEGORIES, 5, "unknown value"),
        (RESPONDENTS.replace("r3,", "r2,"), CATEGORIES, 5, "duplicate id"),
        (RESPONDENTS, CATEGORIES.replace("2,3", "two,3", 1), 5, "whole number"),
        (RESPONDENTS, "name,min\n", 5, "header"),
    ],
)
def test_bad_input_prints_one_line_and_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    respondents: str,
    categories: str,
    size: int,
    message: str,
) -> None:
    (tmp_path / "r.csv").write_text(respondents)
    (tmp_path / "c.csv").write_text(categories)
    assert main_select(_select((tmp_path / "r.csv", tmp_path / "c.csv"), size=size)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_usage_errors_exit_2(files: tuple[Path, Path]) -> None:
    with pytest.raises(SystemExit) as e:
        main_select(["--size", "5"])
    assert e.value.code == 2
    assert main(["nonsense"]) == 2


def test_verify_with_unreadable_record_exits_2(files: tuple[Path, Path], tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    assert main_verify([str(tmp_path / "bad.json"), "--respondents", str(files[0])]) == 2
