"""Accounts under attack and over their lifetime (security review 1: findings 1-4, 11, 15,
17, 20): the bounded login pool, atomic throttling that a guesser cannot turn against a
clinician, token revocation and expiry, deactivation, password changes, sessions that end,
the password policy, unique agenda positions and the audit of all of it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import netmdt.api.security as security
from netmdt.cli import app as cli
from netmdt.store import tables as t
from tests.webapp import PASSWORD, Harness, csrf_of, example_facts, login, make_harness

runner = CliRunner()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'netmdt.db'}"


def harness(url: str, **settings: Any) -> Harness:
    return make_harness(url, **settings)


@pytest.fixture
def made() -> Iterator[list[Harness]]:
    """Harnesses made inside a test, closed after it."""
    made: list[Harness] = []
    yield made
    for web in made:
        web.client.close()
        web.app.state.netmdt.engine.dispose()


def new(made: list[Harness], url: str, **settings: Any) -> Harness:
    web = harness(url, **settings)
    made.append(web)
    return web


def form_login(client: TestClient, name: str, password: str) -> httpx.Response:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def cli_run(url: str, *args: str, stdin: str | None = None) -> Any:
    return runner.invoke(cli, list(args), input=stdin, env={"NETMDT_DATABASE_URL": url})


def audit_actions(web: Harness) -> list[tuple[str, str, str]]:
    return [(e["actor"], e["action"], e["record_type"]) for e in reversed(web.audit())]


def checks_counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count every Argon2 verification (the expensive step a flood is made of)."""
    calls: list[str] = []
    real = security._verify

    def counted(password_hash: str, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(security, "_verify", counted)
    return calls


# -- finding 1: a login flood cannot starve the app -------------------------------------


def test_a_full_login_pool_answers_503_at_once_with_retry_after(
    sqlite_url: str, made: list[Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    web = new(made, sqlite_url, password_hash_workers=1, password_hash_queue=0)
    entered, release = threading.Event(), threading.Event()

    def stuck(password_hash: str, password: str) -> bool:
        entered.set()
        release.wait(30)
        return False

    monkeypatch.setattr(security, "_verify", stuck)

    async def flood() -> tuple[int, int, str | None, int]:
        transport = httpx.ASGITransport(app=web.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            token = csrf_of((await c.get("/login")).text)
            data = {"name": "clinician", "password": "guess guess guess", "csrf_token": token}
            first = asyncio.create_task(c.post("/login", data=data))
            while not entered.is_set():
                await asyncio.sleep(0.01)
            try:
                second = await asyncio.wait_for(c.post("/login", data=data), 10)
                # The clinician's API read is not held up behind the stuck login.
                read = await asyncio.wait_for(
                    c.get("/api/patients", headers=web.h("clinician")), 10
                )
            finally:
                release.set()
            return (
                second.status_code,
                (await first).status_code,
                second.headers.get("retry-after"),
                read.status_code,
            )

    assert asyncio.run(flood()) == (503, 401, "2", 200)


def test_the_per_client_limit_applies_before_any_password_is_checked(
    sqlite_url: str, made: list[Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    web = new(made, sqlite_url, login_max_failures_per_client=3)
    calls = checks_counted(monkeypatch)
    statuses = [form_login(web.client, f"name{i}", "wrong password!").status_code for i in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]
    assert len(calls) == 3
    # Another client is not affected.
    other = TestClient(web.app, client=("10.1.2.3", 5000))
    assert form_login(other, "clinician", PASSWORD).status_code == 303


# -- findings 3 and 4: atomic throttling that cannot lock a clinician out ----------------


def test_concurrent_guesses_cannot_race_past_the_limit(
    db_url: str, made: list[Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    web = new(made, db_url, password_hash_workers=2, password_hash_queue=100)
    calls = checks_counted(monkeypatch)

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=web.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            token = csrf_of((await c.get("/login")).text)
            # all wrong: with the right password among them, the order in which the
            # threads reserve decided whether a success (which resets the pair's count and
            # trusts the client) came before the fifth failure, so the count varied
            tries = ["wrong password!"] * 30
            answers = await asyncio.gather(
                *(
                    c.post("/login", data={"name": "clinician", "password": p, "csrf_token": token})
                    for p in tries
                )
            )
            return [a.status_code for a in answers]

    statuses = asyncio.run(burst())
    checked = [a for a in audit_actions(web) if a[1] in ("login", "login_failed")]
    # At most NETMDT_LOGIN_MAX_FAILURES (5) passwords checked in the window, however many
    # arrive at once; every other attempt is 429 without hashing.
    assert (len(calls), len(checked), sorted(statuses)) == (5, 5, [401] * 5 + [429] * 25)


def test_a_guesser_cannot_lock_a_clinician_out(sqlite_url: str, made: list[Harness]) -> None:
    web = new(made, sqlite_url)
    guesser = TestClient(web.app, client=("203.0.113.9", 4000))
    ward = TestClient(web.app, client=("10.20.30.40", 4000))
    guesses = [form_login(guesser, "clinician", f"guess number {i}!").status_code for i in range(7)]
    assert guesses == [401] * 5 + [429] * 2
    assert form_login(guesser, "clinician", PASSWORD).status_code == 429
    assert form_login(ward, "clinician", PASSWORD).status_code == 303


def test_many_guessers_cannot_lock_out_a_client_that_logged_in_before(
    sqlite_url: str, made: list[Harness]
) -> None:
    web = new(made, sqlite_url, login_max_failures_per_name=3)
    ward = TestClient(web.app, client=("10.20.30.40", 4000))
    assert form_login(ward, "clinician", PASSWORD).status_code == 303
    guessers = [TestClient(web.app, client=(f"203.0.113.{i}", 4000)) for i in range(1, 6)]
    statuses = [form_login(g, "clinician", "a wrong guess!").status_code for g in guessers]
    assert statuses == [401, 401, 401, 429, 429]  # the name's ceiling holds for strangers
    assert form_login(ward, "clinician", PASSWORD).status_code == 303  # not for the ward PC


def test_the_login_counters_are_pruned(sqlite_url: str, made: list[Harness]) -> None:
    web = new(made, sqlite_url)
    sessions = web.app.state.netmdt.sessions
    old = time.time() - 3600
    with sessions() as db:
        db.add_all(
            [t.LoginAttempt(key=f"{i:064d}", window_start=old, count=3) for i in range(50)]
            + [t.LoginAttempt(key="f" * 64, window_start=old, count=0, trusted_until=old + 1e6)]
        )
        db.commit()
    security._last_prune[0] = 0.0
    form_login(web.client, "nobody-at-all", "wrong password!")
    with sessions() as db:
        keys = set(
            db.scalars(t.LoginAttempt.__table__.select().with_only_columns(t.LoginAttempt.key))
        )
    # Left: the trusted pair and this attempt's three fresh counters.
    assert ("f" * 64 in keys, len(keys)) == (True, 4)


# -- finding 2: tokens are listed, revoked and expire; users are deactivated ------------


def test_cli_revocation_takes_effect_within_a_second(sqlite_url: str, made: list[Harness]) -> None:
    web = new(made, sqlite_url)
    assert web.call("clinician", "GET", "/api/patients").status_code == 200  # now cached
    revoked = cli_run(sqlite_url, "token", "revoke", web.tokens["clinician"])
    assert revoked.exit_code == 0, revoked.output
    cache = web.app.state.netmdt.tokens
    real = cache.clock
    cache.clock = lambda: real() + 1.01  # just past the credential-epoch poll (1 s)
    assert web.call("clinician", "GET", "/api/patients").status_code == 401


def test_admin_revocation_takes_effect_at_once_and_is_audited(
    sqlite_url: str, made: list[Harness]
) -> None:
    web = new(made, sqlite_url)
    assert web.call("clinician", "GET", "/api/patients").status_code == 200
    listed = web.call("admin", "GET", "/api/tokens", params={"user": "clinician"}).json()
    assert [(tk["user"], tk["revoked"], tk["last_used_at"] is not None) for tk in listed] == [
        ("clinician", False, True)
    ]
    r = web.call("admin", "POST", f"/api/tokens/{listed[0]['id']}/revoke")
    assert (r.status_code, r.json()["revoked"]) == (200, True)
    assert web.call("clinician", "GET", "/api/patients").status_code == 401
    assert ("admin", "revoke", "token") in audit_actions(web)


def test_cli_token_create_list_and_expiry(sqlite_url: str, made: list[Harness]) -> None:
    web = new(made, sqlite_url)
    created = cli_run(sqlite_url, "token", "create", "auditor", "--expires", "30")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert (
        web.client.get("/api/audit", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    listed = cli_run(sqlite_url, "token", "list", "--user", "auditor")
    rows = [line.split("\t") for line in listed.stdout.strip().splitlines()]
    expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    assert rows[0] == ["id", "user", "created", "expires", "last_used", "status"]
    assert [(r[1], r[3][:10], r[5]) for r in rows[1:]] == [
        ("auditor", expires, "valid"),
        ("auditor", "never", "valid"),
    ]
    assert (
        cli_run(sqlite_url, "token", "create", "auditor", "--expires", "2001-01-01").exit_code == 2
    )
    # An expired token is refused.
    with web.app.state.netmdt.sessions() as db:
        db.execute(
            t.ApiToken.__table__.update().values(
                expires_at=datetime.now(UTC) - timedelta(seconds=1)
            )
        )
        db.commit()
    web.app.state.netmdt.tokens.clear()
    assert (
        web.client.get("/api/audit", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_deactivation_ends_tokens_sessions_and_logins(sqlite_url: str, made: list[Harness]) -> None:
    web = new(made, sqlite_url)
    browser = TestClient(web.app)
    login(browser, "clinician")
    assert browser.get("/meetings").status_code == 200
    assert web.call("clinician", "GET", "/api/patients").status_code == 200
    out = cli_run(sqlite_url, "user", "deactivate", "clinician")
    assert out.exit_code == 0, out.output
    cache = web.app.state.netmdt.tokens
    real = cache.clock
    cache.clock = lambda: real() + 1.01
    assert (
        web.call("clinician", "GET", "/api/patients").status_code,
        browser.get("/meetings").status_code,
        form_login(TestClient(web.app), "clinician", PASSWORD).status_code,
    ) == (401, 401, 401)
    assert ("netmdt-cli", "deactivate", "user") in audit_actions(web)
    assert cli_run(sqlite_url, "user", "deactivate", "nobody").exit_code == 2
    assert cli_run(sqlite_url, "user", "activate", "clinician").exit_code == 0
    assert form_login(TestClient(web.app), "clinician", PASSWORD).status_code == 303
    assert web.call("clinician", "GET", "/api/patients").status_code == 401  # tokens stay revoked


def test_admin_pages_deactivate_and_revoke(sqlite_url: str, made: list[Harness]) -> None:
    web = new(made, sqlite_url)
    admin = TestClient(web.app)
    csrf = login(admin, "admin")
    users = web.call("admin", "GET", "/api/users").json()
    clinician = next(u["id"] for u in users if u["name"] == "clinician")
    page = admin.get(f"/admin/users/{clinician}")
    assert ("Revoke token" in page.text, "Deactivate clinician" in page.text) == (True, True)
    r = admin.post(f"/admin/users/{clinician}/deactivate", data={"csrf_token": csrf})
    assert (r.status_code, "Reactivate clinician" in r.text, "Revoke token" in r.text) == (
        200,
        True,
        False,
    )
    assert web.call("clinician", "GET", "/api/patients").status_code == 401
    # An admin cannot deactivate themselves (and so lock every admin out).
    me = next(u["id"] for u in users if u["name"] == "admin")
    assert admin.post(f"/admin/users/{me}/deactivate", data={"csrf_token": csrf}).status_code == 422


# -- finding 11 and password changes: sessions end --------------------------------------


def test_a_copied_session_cookie_is_refused_after_logout(sqlite_web: Harness) -> None:
    client = sqlite_web.client
    csrf = login(client, "clinician")
    copied = client.cookies.get("netmdt_session")
    assert (
        client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    )
    replay = TestClient(sqlite_web.app, cookies={"netmdt_session": copied})
    assert replay.get("/api/patients").status_code == 401
    assert ("clinician", "logout", "user") in audit_actions(sqlite_web)


def test_a_password_change_ends_the_other_sessions(sqlite_web: Harness) -> None:
    here, there = TestClient(sqlite_web.app), TestClient(sqlite_web.app)
    csrf = login(here, "clinician")
    login(there, "clinician")
    new_password = "  a long new passphrase with spaces  "
    wrong = here.post(
        "/account/password",
        data={"current": "not my password", "password": new_password, "csrf_token": csrf},
    )
    weak = here.post(
        "/account/password",
        data={"current": PASSWORD, "password": "password1234", "csrf_token": csrf},
    )
    assert (wrong.status_code, weak.status_code, "breaches" in weak.text) == (422, 422, True)
    ok = here.post(
        "/account/password",
        data={"current": PASSWORD, "password": new_password, "csrf_token": csrf},
    )
    assert ok.status_code == 200, ok.text
    assert (here.get("/meetings").status_code, there.get("/meetings").status_code) == (200, 401)
    # As typed, spaces included: no stripping.
    assert form_login(TestClient(sqlite_web.app), "clinician", new_password).status_code == 303
    assert (
        form_login(TestClient(sqlite_web.app), "clinician", new_password.strip()).status_code == 401
    )
    assert ("clinician", "password", "user") in audit_actions(sqlite_web)


def test_cli_password_change(sqlite_url: str, made: list[Harness]) -> None:
    web = new(made, sqlite_url)
    browser = TestClient(web.app)
    login(browser, "coordinator")
    weak = cli_run(sqlite_url, "user", "password", "coordinator", stdin="aaaaaaaaaaaa\n")
    assert (weak.exit_code, "password: too easy to guess" in weak.output) == (2, True)
    out = cli_run(
        sqlite_url, "user", "password", "coordinator", stdin="violet staple orbit canoe\n"
    )
    assert out.exit_code == 0, out.output
    assert browser.get("/meetings").status_code == 401
    assert (
        form_login(TestClient(web.app), "coordinator", "violet staple orbit canoe").status_code
        == 303
    )


# -- finding 17: the password policy ----------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "at least 12 characters"),
        ("password1234", "on a list of passwords known from data breaches"),
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("weak3weak3weak3", "must not contain the user name"),
        ("qwertyuiop123", "known from data breaches"),
        ("january2026!", "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused(sqlite_web: Harness, password: str, problem: str) -> None:
    r = sqlite_web.call(
        "admin",
        "POST",
        "/api/users",
        json={"name": "weak3", "roles": ["clinician"], "password": password},
    )
    problems = [(p["where"], problem in p["message"]) for p in r.json()["error"]["problems"]]
    assert (r.status_code, problems) == (422, [("password", True)])


def test_a_password_is_stored_as_typed(sqlite_web: Harness) -> None:
    password = "  my passphrase is long  "
    r = sqlite_web.call(
        "admin",
        "POST",
        "/api/users",
        json={"name": "spaced", "roles": ["auditor"], "password": password},
    )
    assert r.status_code == 201, r.text
    assert form_login(TestClient(sqlite_web.app), "spaced", password).status_code == 303
    assert form_login(TestClient(sqlite_web.app), "spaced", password.strip()).status_code == 401


# -- finding 15: agenda positions stay unique under concurrency -------------------------


def test_concurrent_agenda_additions_get_distinct_positions(
    db_url: str, made: list[Harness]
) -> None:
    from netmdt.store import services as svc

    web = new(made, db_url)
    patient = web.patient()
    cases = [web.case(patient["id"])["id"] for _ in range(10)]
    meeting = web.meeting()["id"]
    actor = svc.Actor("coordinator", frozenset({"coordinator"}))
    sessions = web.app.state.netmdt.sessions
    start = threading.Barrier(len(cases))
    errors: list[BaseException] = []

    def add(case_id: int) -> None:
        with sessions() as db:
            start.wait()
            try:
                svc.add_to_agenda(db, actor, meeting, case_id)
            except BaseException as error:  # collected: the assertion shows them
                errors.append(error)

    threads = [threading.Thread(target=add, args=(c,)) for c in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with sessions() as db:
        positions = sorted(
            db.scalars(
                t.AgendaItem.__table__.select()
                .with_only_columns(t.AgendaItem.position)
                .where(t.AgendaItem.meeting_id == meeting)
            )
        )
    assert (errors, positions) == ([], list(range(1, 11)))
    again = web.call(
        "coordinator", "POST", f"/api/meetings/{meeting}/agenda", json={"case_id": cases[0]}
    )
    assert again.status_code == 409


# -- finding 20: the audit log ----------------------------------------------------------


def test_a_duplicate_nhs_number_conflict_is_audited(sqlite_web: Harness) -> None:
    sqlite_web.patient()
    r = sqlite_web.call(
        "coordinator", "POST", "/api/patients", json={**example_patient(), "name": "Someone Else"}
    )
    assert r.status_code == 409
    events = [e for e in sqlite_web.audit() if e["action"] == "conflict"]
    assert [(e["actor"], e["record_type"], e["detail"]) for e in events] == [
        ("coordinator", "request", {"method": "POST", "route": "/api/patients"})
    ]


def example_patient() -> dict[str, Any]:
    from tests.webapp import PATIENT

    return dict(PATIENT)


def test_the_app_role_cannot_alter_or_erase_the_audit_log(pg_conninfo: str, tmp_path: Path) -> None:
    """PostgreSQL: migrations as the owner role, the app as a restricted role. The app's
    role can add and read audit events, and nothing else: no ALTER, no DISABLE TRIGGER,
    no DROP TRIGGER, no UPDATE, DELETE or TRUNCATE."""
    psycopg = pytest.importorskip("psycopg")
    params = dict(p.split("=", 1) for p in pg_conninfo.split())
    host = f"{params['host']}:{params['port']}"
    with psycopg.connect(pg_conninfo, autocommit=True) as con:
        for statement in (
            "DROP DATABASE IF EXISTS netmdt_roles WITH (FORCE)",
            "DROP ROLE IF EXISTS netmdt_owner",
            "DROP ROLE IF EXISTS netmdt_app",
            "CREATE ROLE netmdt_owner LOGIN",
            "CREATE ROLE netmdt_app LOGIN",
            "CREATE DATABASE netmdt_roles OWNER netmdt_owner",
        ):
            con.execute(statement)
    owner_url = f"postgresql+psycopg://netmdt_owner@{host}/netmdt_roles"
    app_url = f"postgresql+psycopg://netmdt_app@{host}/netmdt_roles"
    out = cli_run(owner_url, "db", "upgrade", "--grant", "netmdt_app")
    assert out.exit_code == 0, out.output
    # The app runs as its role (migrations at head are a no-op read) and works.
    web = make_harness(app_url)
    try:
        patient = web.patient()
        web.case(patient["id"], example_facts())
        assert len(web.audit()) > 3
    finally:
        web.client.close()
        web.app.state.netmdt.engine.dispose()
    forbidden = [
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "UPDATE audit_events SET actor = 'someone else'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "ALTER TABLE audit_events OWNER TO netmdt_app",
        "DROP TABLE audit_events",
    ]
    refused = []
    app_conninfo = (
        f"host={params['host']} port={params['port']} user=netmdt_app dbname=netmdt_roles"
    )
    with psycopg.connect(app_conninfo, autocommit=True) as con:
        con.execute(
            "INSERT INTO audit_events (at, actor, action, record_type, detail) "
            "VALUES (now(), 'x', 'y', 'z', '{}')"
        )
        for statement in forbidden:
            try:
                con.execute(statement)
            except psycopg.errors.InsufficientPrivilege:
                refused.append(statement)
    assert refused == forbidden


def test_admin_api_sets_a_password_and_reactivates(sqlite_url: str, made: list[Harness]) -> None:
    web = new(made, sqlite_url)
    browser = TestClient(web.app)
    login(browser, "coordinator")
    users = {u["name"]: u["id"] for u in web.call("admin", "GET", "/api/users").json()}
    path = f"/api/users/{users['coordinator']}"
    weak = web.call("admin", "PUT", path + "/password", json={"password": "password1234"})
    assert (weak.status_code, weak.json()["error"]["problems"][0]["where"]) == (422, "password")
    assert (
        web.call(
            "admin", "PUT", path + "/password", json={"password": "violet staple orbit canoe"}
        ).status_code
        == 204
    )
    assert browser.get("/meetings").status_code == 401
    off = web.call("admin", "POST", path + "/deactivate").json()
    on = web.call("admin", "POST", path + "/activate").json()
    assert (off["active"], off["deactivated_at"] is not None, on["active"]) == (False, True, True)
    assert (
        form_login(TestClient(web.app), "coordinator", "violet staple orbit canoe").status_code
        == 303
    )
    assert [a for a in audit_actions(web) if a[0] == "admin" and a[2] == "user"] == [
        ("admin", "password", "user"),
        ("admin", "deactivate", "user"),
        ("admin", "activate", "user"),
    ]


def test_the_migration_renumbers_duplicate_agenda_positions(db_url: str) -> None:
    """Agendas made before positions were unique may hold duplicates (finding 15): the
    upgrade renumbers them in their order, then adds the constraint."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from netmdt.store.db import MIGRATIONS, make_engine, migrate

    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    with engine.begin() as con:
        con.execute(
            text(
                "INSERT INTO patients (id, name, date_of_birth, created_at, created_by) "
                "VALUES (1, 'p', :day, :at, 'x')"
            ),
            {"day": date(2026, 1, 1), "at": datetime(2026, 1, 1, tzinfo=UTC)},
        )
        con.execute(
            text(
                "INSERT INTO meetings (id, date, title, attendees, created_at, created_by) "
                "VALUES (1, :day, 'm', '[]', :at, 'x')"
            ),
            {"day": date(2026, 1, 1), "at": datetime(2026, 1, 1, tzinfo=UTC)},
        )
        for case_id in range(1, 6):
            con.execute(
                text(
                    "INSERT INTO cases (id, patient_id, title, version, created_at) "
                    "VALUES (:id, 1, 't', 1, :at)"
                ),
                {"id": case_id, "at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
        for item, (case_id, position) in enumerate([(1, 1), (2, 2), (3, 2), (4, 2), (5, 3)], 1):
            con.execute(
                text(
                    "INSERT INTO agenda_items (id, meeting_id, case_id, position) "
                    "VALUES (:id, 1, :case, :position)"
                ),
                {"id": item, "case": case_id, "position": position},
            )
    migrate(engine)
    with engine.connect() as con:
        rows = con.execute(text("SELECT case_id, position FROM agenda_items ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]
