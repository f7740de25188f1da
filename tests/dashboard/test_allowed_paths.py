"""The dashboard opens only built-ins, its start scenario and files in --scenarios folders; a
refusal says the same whether or not the file exists; serving beyond loopback warns."""

import os

import pytest

from abm.cli import main
from abm.dashboard import access, server
from abm.dashboard.session import DashboardModel, load_scenario
from abm.scenario import ScenarioError

SMALL = '[scenario]\nname = "mine"\ndescription = "d"\nextends = "baseline-2024"\n'


@pytest.fixture
def folders(tmp_path, monkeypatch):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "mine.toml").write_text(SMALL)
    (allowed / "broken.toml").write_text(SMALL + "[market]\nhalt_threshold = 7\n")
    secret = tmp_path / "secret.toml"
    secret.write_text('[scenario]\nname = "token-1234"\n')
    (allowed / "link.toml").symlink_to(secret)
    monkeypatch.setenv(access.DIRS_ENV, str(allowed))
    monkeypatch.delenv(access.STARTED_ENV, raising=False)
    return tmp_path


@pytest.mark.parametrize("shown", [
    "secret.toml",                 # exists, outside the folder
    "nothing-here.toml",           # does not exist
    "allowed/link.toml",           # a link inside the folder to a file outside it
    "allowed/../secret.toml",      # climbs out of the folder
    "allowed/nothing-here.toml",   # does not exist, inside
    "/etc/passwd",                 # not a .toml file
    "/etc",                        # a folder
])
def test_paths_outside_the_allowed_folders_get_one_line_that_reveals_nothing(folders, shown):
    path = shown if shown.startswith("/") else str(folders / shown)
    if shown == "allowed/nothing-here.toml":
        expected = "no such scenario file"  # inside the folder the user allowed: said plainly
        with pytest.raises(ScenarioError, match=expected):
            load_scenario(path)
        return
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path)
    assert str(refused.value) == f"{path}: {access.REFUSED}"
    model = DashboardModel(source=path)
    assert model.problem == f"{path}: {access.REFUSED}"
    assert "token-1234" not in model.problem


def test_the_message_is_the_same_for_a_file_that_exists_and_one_that_does_not(folders):
    def message(path):
        return DashboardModel(source=str(path)).problem.removeprefix(str(path))

    assert (folders / "secret.toml").is_file() and not (folders / "absent.toml").exists()
    assert message(folders / "secret.toml") == message(folders / "absent.toml")


def test_files_in_allowed_folders_open_and_their_errors_are_shown(folders):
    assert load_scenario(str(folders / "allowed" / "mine.toml")).name == "mine"
    with pytest.raises(ScenarioError, match="market.halt_threshold"):
        load_scenario(str(folders / "allowed" / "broken.toml"))
    assert load_scenario("history-2025").name  # built-ins always


def test_the_scenario_the_dashboard_was_started_with_is_allowed(folders, monkeypatch):
    monkeypatch.setenv(access.DIRS_ENV, "")
    mine = folders / "allowed" / "mine.toml"
    with pytest.raises(ScenarioError, match="--scenarios DIR"):
        load_scenario(str(mine))
    monkeypatch.setenv(access.STARTED_ENV, str(mine))
    assert load_scenario(str(mine)).name == "mine"


def test_no_folder_named_means_only_built_ins(folders, monkeypatch):
    monkeypatch.delenv(access.DIRS_ENV)
    with pytest.raises(ScenarioError, match="--scenarios DIR"):
        load_scenario(str(folders / "allowed" / "mine.toml"))


@pytest.fixture
def served(monkeypatch):
    calls = []
    monkeypatch.setattr(server, "serve", lambda *args, **kwargs: calls.append(kwargs))
    return calls


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "myhost.example"])
def test_serving_beyond_this_machine_warns_what_becomes_reachable(host, served, tmp_path, capsys):
    assert main(["dashboard", "history-2025", "--host", host, "--scenarios", str(tmp_path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"abm dashboard: warning: serving on {host}:8765")
    assert "without a password" in err[0] and str(tmp_path) in err[0]
    assert served[0]["scenario_dirs"] == (str(tmp_path.resolve()),)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_serving_on_loopback_does_not_warn(host, served, capsys):
    assert main(["dashboard", "history-2025", "--host", host]) == 0
    assert capsys.readouterr().err == ""
    assert served[0]["scenario_dirs"] == ()


def test_a_scenarios_folder_that_is_not_a_folder_is_refused(served, tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["dashboard", "--scenarios", str(missing)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"abm: error: {missing}: --scenarios: expected a folder of scenario files"]
    assert not served


def test_serve_hands_the_folders_to_the_page(monkeypatch, tmp_path):
    import solara.__main__

    monkeypatch.setattr(solara.__main__.cli, "main", lambda *args, **kwargs: None)
    for name in (access.DIRS_ENV, access.STARTED_ENV, server.PLAY_MS_ENV,
                 "SOLARA_TELEMETRY_MIXPANEL_ENABLE"):
        monkeypatch.setenv(name, "")  # restored after the test
    server.serve("history-2025", scenario_dirs=(str(tmp_path), "/x"))
    assert os.environ[access.DIRS_ENV] == os.pathsep.join((str(tmp_path), "/x"))
