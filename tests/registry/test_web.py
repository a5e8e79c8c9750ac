"""The registry's pages: the admin status page, the registry list, the report; each for
the roles that may see it."""

from __future__ import annotations

from tests.webapp import Harness, login


def test_admin_sets_the_status_on_its_page(sqlite_web: Harness) -> None:
    client = sqlite_web.client
    csrf = login(client, "admin")
    page = client.get("/admin/registry")
    assert page.status_code == 200 and "never set" in page.text
    r = client.post(
        "/admin/registry", data={"status": "open", "csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "<strong>open</strong>" in client.get("/admin/registry").text
    bad = client.post("/admin/registry", data={"status": "paused", "csrf_token": csrf})
    assert bad.status_code == 422
    no_csrf = client.post("/admin/registry", data={"status": "closed"})
    assert no_csrf.status_code == 403


def test_pages_by_role(sqlite_web: Harness) -> None:
    client = sqlite_web.client
    login(client, "coordinator")
    assert client.get("/registry").status_code == 403
    login(client, "clinician")
    page = client.get("/registry")
    assert page.status_code == 200 and "No one is enrolled yet" in page.text
    assert client.get("/registry/report").status_code == 403
    enrol = client.get("/registry/enrol?decision=7")
    assert enrol.status_code == 200 and 'value="7"' in enrol.text
    login(client, "auditor")
    report = client.get("/registry/report")
    assert report.status_code == 200 and "No enrolments yet" in report.text
    assert client.get("/registry/enrol").status_code == 403
