"""Scenario files past the limits are refused fast with one line naming file and field (unless
--allow-large); unclear refusals of odd files now say what was expected."""

import time

import pandas as pd
import pytest

import abm
from abm.cli import main
from abm.scenario import ScenarioError
from abm.scenario import limits as scenario_limits

HEAD = '[scenario]\nname = "probe"\ndescription = "d"\nextends = "baseline-2024"\n'


def notes(count: int, year: int = 2024) -> str:
    return "".join(f'[[events]]\ndate = {year}-06-{i % 28 + 1:02d}\nkind = "note"\n'
                   f'label = "n{i}"\n' for i in range(count))


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert captured.out == ""
    return lines[0]


def test_16000_note_events_are_refused_in_under_a_second(tmp_path, capsys):
    path = tmp_path / "many.toml"
    path.write_text(HEAD + notes(16_000))
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as refused:
        abm.load(path)
    assert time.perf_counter() - started < 1.0
    assert str(refused.value) == (f"{path}: events: expected at most 1,000 events in a scenario, "
                                  "got 16,000; pass --allow-large to load it anyway")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert one_error_line(capsys).startswith(f"abm: error: {path}: events: expected at most")
    assert not (tmp_path / "out").exists()


def test_events_after_until_cost_nothing_and_change_nothing(tmp_path):
    path = tmp_path / "late.toml"
    path.write_text(HEAD + notes(16_000, year=2026))
    config = abm.load(path, allow_large=True)
    until = pd.Timestamp("2024-04-01").date()
    started = time.perf_counter()
    result = abm.run(config, seed=1, until=until)
    result.customs_monthly  # noqa: B018 - the tables are built
    assert time.perf_counter() - started < 5.0
    assert result.config.events == ()  # the scenario as run
    plain = abm.run(abm.load("baseline-2024"), seed=1, until=until)
    pd.testing.assert_frame_equal(result.weekly, plain.weekly)


def test_an_event_in_the_last_week_is_kept(tmp_path):
    config = abm.load("history-2025")
    last = config.events[3].date
    result = abm.run(config, seed=0, until=last)
    assert config.events[3] in result.config.events
    assert all(config.week_of(e.date) <= result.weeks for e in result.config.events)


def test_allow_large_lifts_the_event_limit(tmp_path):
    path = tmp_path / "many.toml"
    path.write_text(HEAD + notes(1_001))
    assert len(abm.load(path, allow_large=True).events) == 1_001 + len(
        abm.load("baseline-2024").events)


def test_a_50_mb_description_is_refused(tmp_path, capsys):
    path = tmp_path / "big.toml"
    path.write_text(HEAD.replace('"d"', '"' + "x" * 50_000_000 + '"'))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"abm: error: {path}: expected a scenario file of at most 16 MiB")
    assert line.endswith("pass --allow-large to load it anyway")


@pytest.mark.parametrize("field, text", [
    ("scenario.description", HEAD.replace('"d"', '"' + "x" * 20_000 + '"')),
    ("events[0].label", HEAD + '[[events]]\ndate = 2024-06-01\nkind = "note"\nlabel = "'
     + "y" * 5_000 + '"\n'),
])
def test_long_text_fields_are_refused_naming_the_field(tmp_path, field, text):
    path = tmp_path / "long.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as refused:
        abm.load(path)
    assert str(refused.value).startswith(f"{path}: {field}: expected a text of at most")
    assert "--allow-large" in str(refused.value)


def test_a_long_chain_of_extends_names_the_file_and_the_limit(tmp_path, capsys):
    for i in range(2000):
        base = f"c{i + 1}.toml" if i < 1999 else "baseline-2024"
        (tmp_path / f"c{i}.toml").write_text(
            f'[scenario]\nname = "c{i}"\ndescription = "d"\nextends = "{base}"\n')
    first = tmp_path / "c0.toml"
    assert main(["run", str(first), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    depth = scenario_limits.MAX_EXTENDS_DEPTH
    assert line == (f"abm: error: {first}: scenario.extends: expected a chain of at most "
                    f"{depth} bases, but it goes on past {tmp_path / f'c{depth}.toml'}; pass "
                    "--allow-large to load it anyway")
    assert "TOML" not in line


def test_a_chain_within_the_limit_loads(tmp_path):
    for i in range(5):
        base = f"c{i + 1}.toml" if i < 4 else "baseline-2024"
        (tmp_path / f"c{i}.toml").write_text(
            f'[scenario]\nname = "c{i}"\ndescription = "d"\nextends = "{base}"\n')
    assert abm.load(tmp_path / "c0.toml").name == "c0"


def test_a_utf8_byte_order_mark_is_read(tmp_path):
    plain, marked = tmp_path / "plain.toml", tmp_path / "marked.toml"
    plain.write_text(HEAD)
    marked.write_bytes(b"\xef\xbb\xbf" + HEAD.encode())
    assert abm.load(marked) == abm.load(plain)


def test_extends_a_folder_says_it_is_a_folder(tmp_path):
    path = tmp_path / "etc.toml"
    path.write_text(HEAD.replace('"baseline-2024"', '"/etc"'))
    with pytest.raises(ScenarioError) as refused:
        abm.load(path)
    assert str(refused.value) == (f"{path}: scenario.extends: expected a scenario file (.toml), "
                                  "but it is a folder (extends = '/etc')")


def test_a_symlink_to_a_folder_is_called_a_folder(tmp_path, capsys):
    link = tmp_path / "link.toml"
    link.symlink_to(tmp_path)
    assert main(["run", str(link), "--out", str(tmp_path / "out")]) == 2
    assert one_error_line(capsys) == (f"abm: error: {link}: expected a scenario file (.toml), "
                                      "but it is a folder (a symbolic link to one)")


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ScenarioError, match="expected an existing scenario file, but there is "
                       "no such scenario file"):
        abm.load(tmp_path / "absent.toml")


def test_the_buyer_weeks_limit_names_the_file_and_the_field(tmp_path, capsys):
    path = tmp_path / "huge.toml"
    path.write_text(HEAD + '[[buyers]]\ngood = "magnet"\ncountry = "USA"\nsector = "automotive"'
                    "\ncount = 1000000\n")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"abm: error: {path}: buyers.count x weeks: expected at most "
                           "5,000,000 buyer-weeks in one run, got ")
    assert line.endswith("pass --allow-large to run it anyway")
