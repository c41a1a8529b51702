"""Accounts: salted scrypt hashes, `coach users`, the login, and each user's sessions kept apart
through a real server and gradio_client (another user's session is "not found")."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from pg_server import app_servers
from test_interview import WEAK_ON_TOPIC

from app.cli import main
from app.config import Settings
from app.errors import NotFoundError, UserInputError
from app.sessions.accounts import Accounts, hash_password, verify_password
from app.sessions.db import SessionDB
from app.ui.login import LoginThrottle

COACH = str(Path(sys.executable).parent / "coach")
PASSWORDS = {"ada": "ada-secret-1", "bob": "bob-secret-2"}


def coach(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COACH_DATA_DIR": str(data)}
    return subprocess.run([COACH, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_hashes_are_salted_and_checked() -> None:
    first, second = hash_password("same password"), hash_password("same password")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("same password", first) and verify_password("same password", second)
    assert not verify_password("same passworD", first)
    for broken in ("", "scrypt$1$2", "bcrypt$x", first.replace("scrypt", "md5"), first[:-4] + "AAA="):
        assert not verify_password("same password", broken)


def test_accounts_and_the_login_check(tmp_path: Path) -> None:
    accounts = Accounts(SessionDB(tmp_path / "coach.sqlite3"))
    assert not accounts.any()
    accounts.add("ada", PASSWORDS["ada"])
    stored = accounts.db.password_hash("ada")
    assert stored and PASSWORDS["ada"] not in stored
    login = LoginThrottle(accounts.verify)
    assert login("ada", PASSWORDS["ada"]) and not login("ada", "wrong-password") and not login("eve", "x" * 9)
    accounts.passwd("ada", "a-new-password")
    assert not login("ada", PASSWORDS["ada"]) and login("ada", "a-new-password")
    with pytest.raises(UserInputError, match="already exists"):
        accounts.add("ada", "another-password")
    with pytest.raises(UserInputError, match="8 to"):
        accounts.add("bob", "short")
    with pytest.raises(UserInputError, match="user name"):
        accounts.add("bad name!", "long-enough-1")
    accounts.remove("ada")
    with pytest.raises(NotFoundError):
        accounts.remove("ada")
    assert not login("ada", "a-new-password")


def test_coach_users_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    added = coach(tmp_path, "users", "add", "ada", "--password-stdin", stdin=PASSWORDS["ada"] + "\n")
    assert added.returncode == 0 and "added user ada" in added.stdout, added.stderr
    again = coach(tmp_path, "users", "add", "ada", "--password-stdin", stdin="whatever-password\n")
    assert again.returncode == 2 and again.stderr.strip() == (
        "error: user 'ada' already exists; use `coach users passwd ada`"
    )
    # the rest in this process (the same main(), without paying a start-up each)
    monkeypatch.setenv("COACH_DATA_DIR", str(tmp_path))

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = run("users", "passwd", "ada", "--password-stdin", stdin="short\n")
    assert code == 2 and err == "error: a password needs 8 to 1024 characters\n"
    code, _, err = run("users", "add", "bob")  # no terminal, no --password-stdin
    assert code == 2 and "--password-stdin" in err
    assert run("users", "list")[1].split() == ["ada"]
    code, _, err = run("users", "remove", "bob")
    assert code == 2 and err == "error: no user named 'bob' (see `coach users list`)\n"
    assert run("users", "passwd", "ada", "--password-stdin", stdin="a-new-password\n")[0] == 0
    assert Accounts(SessionDB(tmp_path / "coach.sqlite3")).verify("ada", "a-new-password")
    assert run("users", "remove", "ada")[0] == 0
    assert "no users" in run("users", "list")[1]


# -- two users through a real server and gradio_client ----------------------------------------
@pytest.fixture(scope="module")
def two_user_server(tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path) -> Iterator[str]:
    data = tmp_path_factory.mktemp("accounts")
    accounts = Accounts(SessionDB(Settings(data_dir=data).database_path))
    for name, password in PASSWORDS.items():
        accounts.add(name, password)
    env = {**os.environ, "COACH_DATA_DIR": str(data)}
    # `coach serve` itself: its login is the users of the sessions database (cli.login_check).
    launcher = [str(Path(sys.executable).parent / "coach"), "serve", "--port"]
    with app_servers([(launcher, env, data / "server.log")]) as [(url, _)]:
        yield url


def client(url: str, user: str, password: str | None = None) -> Client:
    return Client(url, auth=(user, password or PASSWORDS[user]), verbose=False)


def test_another_user_gets_not_found_through_the_api(two_user_server: str) -> None:
    ada, bob = client(two_user_server, "ada"), client(two_user_server, "bob")
    started = ada.predict(track="ml_system_design", questions=1, follow_ups=1, api_name="/start_interview")
    sid = started["session_id"]
    not_found = f"no session with id {sid!r}"
    for call in (
        lambda: bob.predict(session_id=sid, text=WEAK_ON_TOPIC, api_name="/answer"),
        lambda: bob.predict(session_id=sid, api_name="/resume"),
        lambda: bob.predict(session_id=sid, fmt="json", api_name="/transcript"),
    ):
        with pytest.raises(Exception) as err:
            call()
        assert not_found in str(err.value)
    assert bob.predict(api_name="/sessions") == []
    assert [row["session_id"] for row in ada.predict(api_name="/sessions")] == [sid]
    reply = ada.predict(session_id=sid, text=WEAK_ON_TOPIC, api_name="/answer")
    assert reply["scorecard"] and reply["messages"]
    assert WEAK_ON_TOPIC in ada.predict(session_id=sid, fmt="md", api_name="/transcript")
    assert ada.predict(session_id=sid, api_name="/resume")["transcript"][1] == WEAK_ON_TOPIC


def test_a_wrong_password_gets_no_login(two_user_server: str) -> None:
    def login(user: str, password: str) -> httpx.Response:
        return httpx.post(f"{two_user_server}login", data={"username": user, "password": password})

    assert login("ada", PASSWORDS["ada"]).status_code == 200
    for user, password in (("ada", "not-her-password"), ("ada", PASSWORDS["bob"]), ("eve", "any-password")):
        refused = login(user, password)
        assert refused.status_code == 400 and "Incorrect credentials" in refused.text
