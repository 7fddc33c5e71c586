"""The README's route table and command block against the product itself, so neither can
drift: every operation of the OpenAPI document (the public API) is in the route table with
the scope the app demands, every route the table names exists, and the command block lists
exactly the ``ownpay`` commands there are, with options they take.

How the table's first column is read: each backticked token is ``METHOD /path`` (a route),
a bare ``METHOD`` (combined with the next token's path: ``GET``/``PUT /x`` is two routes), or
a bare word (the previous route's method and path with the last segment replaced:
``POST /x/{id}/approve`` / ``reject``).  Path parameters compare by position only
(``{id}`` in the table is ``{transaction_id}`` in the app).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.routing import iter_route_contexts

from ownpay.app import create_app
from ownpay.cli import app as cli_app
from tests.support.routes import PUBLIC_ROUTES, ROUTES
from tests.support.settings import make_settings

README = Path(__file__).resolve().parents[2] / "README.md"
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

Route = tuple[str, str]  # (method, path with every parameter written "{}")


def normalized(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start: end if end > 0 else None]


def routes_of_cell(cell: str) -> list[Route]:
    found: list[Route] = []
    pending: list[str] = []
    last: list[Route] = []
    for token in re.findall(r"`([^`]+)`", cell):
        method, _, path = token.partition(" ")
        if method in METHODS and path.startswith("/"):
            last = [(m, normalized(path)) for m in [*pending, method]]
            pending = []
        elif token in METHODS:
            pending.append(token)
            continue
        elif re.fullmatch(r"[a-z][a-z0-9-]*", token) and last:
            last = [(m, p.rsplit("/", 1)[0] + "/" + token) for m, p in last]
        else:
            raise AssertionError(f"cannot read {token!r} in the README route cell {cell!r}")
        found += last
    assert not pending, f"a method without a path in {cell!r}"
    return found


def route_table() -> dict[Route, str]:
    """Every route of the README's table, with its Scope column."""
    rows: dict[Route, str] = {}
    for line in section("The API in one call").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) < 3:
            continue
        for route in routes_of_cell(cells[0]):
            assert route not in rows, f"{route} is in the README's route table twice"
            rows[route] = cells[1]
    return rows


def app_routes() -> tuple[set[Route], set[Route]]:
    """(the public API: every OpenAPI operation; every route the app and checkout serve)."""
    app: Any = create_app(make_settings("sqlite+aiosqlite:///:memory:", Path("unused")))
    public = {(method.upper(), normalized(path))
              for path, operations in app.openapi()["paths"].items() for method in operations}
    served: set[Route] = set()
    for routes in (app.routes, app.state.checkout_app.routes):
        for route in iter_route_contexts(routes):
            served |= {(m, normalized(route.path or "")) for m in route.methods or ()}
    return public, served


def test_the_route_table_lists_every_public_api_route_with_its_scope() -> None:
    table = route_table()
    public, served = app_routes()
    assert len(public) >= 25  # the OpenAPI document was read
    missing = sorted(public - set(table))
    assert not missing, f"README.md's route table lacks these API routes: {missing}"
    unknown = sorted(set(table) - served)
    assert not unknown, f"README.md's route table names routes the app does not have: {unknown}"
    scopes = {(case.method, normalized(case.path)): case.scopes for case in ROUTES}
    scopes |= {(m, normalized(p)): frozenset() for m, p in PUBLIC_ROUTES}
    wrong = {route: (said, sorted(scopes[route])) for route, said in table.items()
             if route in scopes and {said} != (set(scopes[route]) or {"none"})}
    assert not wrong, f"README.md's Scope column disagrees with the app: {wrong}"


def test_the_route_table_reader_reads_every_form() -> None:
    # Guards the reader itself: a form it misread would hide a missing route.
    assert routes_of_cell("`GET`/`PUT /a/b`") == [("GET", "/a/b"), ("PUT", "/a/b")]
    assert routes_of_cell("`POST /a/{id}/approve` / `reject`") == [
        ("POST", "/a/{}/approve"), ("POST", "/a/{}/reject")]
    assert routes_of_cell("`GET /a`, `GET /a/{x}`") == [("GET", "/a"), ("GET", "/a/{}")]
    with pytest.raises(AssertionError, match="cannot read"):
        routes_of_cell("`frobnicate /a`")


# ---- the command block ----------------------------------------------------------------------


def cli_commands() -> dict[str, set[str]]:
    """Every ``ownpay`` command (``"webhooks add"``) with the options it takes."""
    found: dict[str, set[str]] = {}

    def walk(command: Any, words: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*words, name])
            return
        found[" ".join(words)] = {opt for param in command.params
                                  for opt in (*param.opts, *param.secondary_opts)}

    walk(typer.main.get_command(cli_app), [])
    return found


def command_block() -> dict[str, set[str]]:
    """The README's command block: each command (``a|b`` is two) with the options it shows."""
    block = re.search(r"```text\n(ownpay .*?)```", section("Command line"), re.S)
    assert block, "README.md's Command line section has no ```text block of ownpay commands"
    shown: dict[str, set[str]] = {}
    for line in block.group(1).splitlines():
        words = line.split("#", 1)[0].split()
        assert words[0] == "ownpay", line
        names = [w for w in words[1:3] if re.fullmatch(r"[a-z][a-z0-9|-]*", w)]
        options = {w.strip("[]").split("=")[0] for w in words if w.strip("[").startswith("--")}
        group, _, leaves = " ".join(names).rpartition(" ")
        for leaf in leaves.split("|"):
            shown.setdefault(f"{group} {leaf}".strip(), set()).update(options)
    return shown


def test_the_command_block_lists_every_command_with_real_options() -> None:
    commands, shown = cli_commands(), command_block()
    assert len(commands) >= 25
    missing = sorted(set(commands) - set(shown))
    assert not missing, f"README.md's command block lacks: {missing}"
    unknown = sorted(set(shown) - set(commands))
    assert not unknown, f"README.md's command block shows commands that do not exist: {unknown}"
    wrong = {name: sorted(opts - commands[name]) for name, opts in shown.items()
             if opts - commands[name]}
    assert not wrong, f"README.md's command block shows options these commands lack: {wrong}"
