"""``gateledger link``: a sign-in link from the command line, and the one ``make run``
prints for the demo board's chair."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import _print_demo_link
from api.cli import app as cli_app
from api.pages.sessions import read_link
from tests.api.conftest import SECRET
from tests.pages.conftest import Room


@pytest.fixture
def env(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATELEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATELEDGER_JWT_SECRET", SECRET)


def test_the_printed_link_signs_in_once_and_opens_the_page_asked_for(env: None, room: Room) -> None:
    review = f"/projects/{room.project}/review"
    args = ["link", "dave", "--to", review, "--ttl", "600", "--base-url", "https://gl.example"]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith("https://gl.example/sign-in/link?token=")
    token = url.partition("token=")[2]
    link = read_link(room.settings, token)
    assert (link.principal.sub, link.principal.roles, link.to) == ("dave", (), review)


async def test_a_link_from_the_cli_works_on_the_server(env: None, room: Room) -> None:
    review = f"/projects/{room.project}/review"
    result = CliRunner().invoke(cli_app, ["link", "carol", "--to", review, "--roles", "auditor"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1].partition("token=")[2]
    browser = room.browser()
    r = await browser.post("/sign-in/link", {"token": token})
    assert r.status_code == 303 and r.headers["location"] == review
    page = await browser.get(review)
    assert page.status_code == 200 and "auditor" in page.text and "The board" in page.text
    assert (await room.browser().post("/sign-in/link", {"token": token})).status_code == 400


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["link", "dave", "--to", "https://evil.example/"], "a path on this server"),
        (["link", "dave", "--to", "//evil.example/"], "a path on this server"),
        (["link", "dave", "--roles", "admin"], "unknown role"),
        (["link", " dave"], "PERSON"),
        (["link", "dave", "--ttl", "0"], "--ttl"),
        (["link", "dave", "--base-url", "javascript:alert(1)"], "--base-url"),
        (["link", "dave", "--base-url", "gateledger.example.com"], "--base-url"),
        (["link", "dave", "--base-url", "https://u:p@gl.example"], "--base-url"),
        (["link", "dave", "--base-url", "https://gl.example/?a=1"], "--base-url"),
        (["link", "dave", "--base-url", "https://gl.example /"], "--base-url"),
        (["link", "dave", "--name", "x" * 5000], "--name"),
        (["link", "dave", "--name", "Dave\u202e"], "--name"),
    ],
)
def test_bad_options_are_one_line_and_print_no_link(env: None, args: list[str], says: str) -> None:
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 2, result.output
    assert says in result.output and "token=" not in result.output


def test_make_run_prints_a_link_for_the_demo_chair(capsys: pytest.CaptureFixture[str]) -> None:
    from api.settings import Settings

    settings = Settings(jwt_secret=SECRET)
    _print_demo_link(settings, "0.0.0.0", 8123)
    printed = capsys.readouterr().err
    assert "sign in as carol" in printed
    url = printed.split("hour): ", 1)[1].strip()
    assert url.startswith("http://127.0.0.1:8123/sign-in/link?token=")
    link = read_link(settings, url.partition("token=")[2])
    assert (link.principal.sub, link.to) == ("carol", "/inbox")
