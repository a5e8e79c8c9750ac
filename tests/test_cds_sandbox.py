"""End to end with a client netmdt did not write: the official CDS Hooks sandbox (a mock EHR,
built from cds-hooks/sandbox; ``../shared/tools/cds-hooks-sandbox``, read its README) drives
netmdt's CDS service in Debian's Chromium via Playwright. The test spins up, on loopback:
a static server for a copy of the sandbox, a small read-only FHIR server holding the test
bundles, and netmdt (trusting the sandbox's published key for its issuer, and that FHIR
server for it).

The sandbox folder is found beside the repository (``<repo>/../shared/...``, as in CI) or at
``$NETMDT_CDS_SANDBOX``; the test is skipped, saying so, only when it is absent. A missing
Chromium is a skip locally and a failure in CI, as in test_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from netmdt.api import create_app
from netmdt.cdshooks import PREFETCH
from netmdt.config import Settings
from tests.postgres import free_port
from tests.served import Served
from tests.test_browser import launch_chromium

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = Path(
    os.environ.get("NETMDT_CDS_SANDBOX") or ROOT.parent / "shared/tools/cds-hooks-sandbox"
)
ISSUER = "https://sandbox.cds-hooks.org"
FHIR_DIR = Path(__file__).parent / "fhir"
SI_NET = FHIR_DIR / "si-net-bundle.json"
PNET = FHIR_DIR / "pnet-bundle.json"
NO_CANCER = next((FHIR_DIR / "external/synthea-r4").glob("Buster_Hoeger_*.json"))
FHIR_JSON = "application/fhir+json"


# ------------------------------------------------------------------ a tiny FHIR server


class ReadOnlyFhir:
    """A read-only FHIR R4 server over the resources of some Bundles: ``/metadata``,
    ``/{type}/{id}``, and searches ``/{type}?patient=...`` (GET, or POST ``_search``) as the
    sandbox runs them for netmdt's prefetch templates, in pages for the patients in
    ``pages`` (``_page`` and a ``next`` link). Records each request's path."""

    def __init__(self, *bundles: Path, pages: dict[str, int] | None = None) -> None:
        self.pages = pages or {}  # patient id -> page size: that patient's searches are paged
        self.resources: list[dict[str, Any]] = []
        for path in bundles:
            self.resources += [e["resource"] for e in json.loads(path.read_text())["entry"]]
        self.seen: list[str] = []

    def app(self) -> Starlette:
        routes = [
            Route("/metadata", self.metadata),
            Route("/{kind}/_search", self.search, methods=["POST"]),
            Route("/{kind}/{id}", self.read),
            Route("/{kind}", self.search, methods=["GET"]),
        ]
        cors = Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"],
                          allow_headers=["*"])  # fmt: skip
        return Starlette(routes=routes, middleware=[cors])

    def metadata(self, request: Request) -> Response:
        self.seen.append("/metadata")
        return JSONResponse(
            {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
             "fhirVersion": "4.0.1", "format": ["json"], "date": "2026-11-27",
             "rest": [{"mode": "server"}]},
            media_type=FHIR_JSON,
        )  # fmt: skip

    def read(self, request: Request) -> Response:
        kind, rid = request.path_params["kind"], request.path_params["id"]
        self.seen.append(f"/{kind}/{rid}")
        for r in self.resources:
            if r["resourceType"] == kind and r.get("id") == rid:
                return JSONResponse(r, media_type=FHIR_JSON)
        return JSONResponse(
            {"resourceType": "OperationOutcome",
             "issue": [{"severity": "error", "code": "not-found"}]},
            404, media_type=FHIR_JSON,
        )  # fmt: skip

    async def search(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.form()).items()})
        self.seen.append(f"/{kind}?patient={params.get('patient', '')}")
        patient = params.get("patient", "").removeprefix("Patient/")
        found = [
            r for r in self.resources
            if r["resourceType"] == kind
            and (not patient or r.get("subject", {}).get("reference", "")
                 .endswith(f"Patient/{patient}") or r.get("id") == patient)
        ]  # fmt: skip
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset",
                                  "total": len(found)}  # fmt: skip
        size = self.pages.get(patient)
        if size:
            page = int(params.get("_page", "0"))
            if (page + 1) * size < len(found):
                more = f"{request.base_url}{kind}?patient={patient}&_page={page + 1}"
                bundle["link"] = [{"relation": "next", "url": more}]
            found = found[page * size : (page + 1) * size]
        bundle["entry"] = [{"fullUrl": f"{request.base_url}{kind}/{r.get('id')}", "resource": r,
                            "search": {"mode": "match"}} for r in found]  # fmt: skip
        return JSONResponse(bundle, media_type=FHIR_JSON)


# ------------------------------------------------------------------ servers


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not (SANDBOX / "index.html").is_file():
        pytest.skip(
            f"the built CDS Hooks sandbox is not at {SANDBOX} (CI has it in ../shared beside "
            "the clone; set NETMDT_CDS_SANDBOX to its folder)"
        )
    tmp = tmp_path_factory.mktemp("cds-sandbox")
    site = tmp / "sandbox"
    shutil.copytree(SANDBOX, site, ignore=shutil.ignore_patterns("ecprivkey.pem"))
    for folder in (site, site / ".well-known"):  # the original is read-only; let pytest clean
        folder.chmod(0o755)
    sandbox = Served(Starlette(routes=[Mount("/", StaticFiles(directory=site, html=True))]))
    fhir = ReadOnlyFhir(SI_NET, NO_CANCER, PNET, pages={"pnet-patient": 2})
    fhir_served = Served(fhir.app())
    netmdt_port = free_port()
    issuers = tmp / "cds-issuers.json"
    issuers.write_text(json.dumps({ISSUER: {
        "jwks": str(site / ".well-known/jwks.json"),
        "fhir_servers": [fhir_served.url]}}))  # fmt: skip
    settings = Settings(
        database_url=f"sqlite:///{tmp}/netmdt.db",
        secret_key="cds-sandbox-test",
        base_url=f"http://127.0.0.1:{netmdt_port}",
        cds_issuers_file=str(issuers),
        cors_origins=[sandbox.url],
        cds_freeze_heap=False,
    )
    app = create_app(settings)
    netmdt = Served(app, netmdt_port)
    yield {"sandbox": sandbox.url, "fhir": fhir_served.url, "netmdt": netmdt.url, "app": app}
    for s in (netmdt, fhir_served, sandbox):
        s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def _open(browser: Any, servers: dict[str, Any], patient: str) -> tuple[Any, list[Any]]:
    """The sandbox on ``patient`` with netmdt's discovery; every netmdt answer recorded."""
    page = browser.new_page()
    answers: list[Any] = []
    page.on(
        "response",
        lambda r: answers.append(r) if r.url.startswith(servers["netmdt"]) else None,
    )
    page.goto(
        f"{servers['sandbox']}/?fhirServiceUrl={servers['fhir']}&patientId={patient}"
        f"&serviceDiscoveryURL={servers['netmdt']}/cds-services"
    )
    return page, answers


def _audit(servers: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    from sqlalchemy import select

    from netmdt.store.tables import AuditEvent

    with servers["app"].state.netmdt.sessions() as db:
        rows = db.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
        return [(e.action, e.record_type, e.record_id) for e in rows if e.actor == f"cds:{ISSUER}"]


def _answers(answers: list[Any], path: str) -> list[Any]:
    return [a for a in answers if a.url.endswith(path) and a.request.method == "POST"]


def _wait_for(page: Any, answers: list[Any], path: str) -> list[Any]:
    """netmdt's answers to POSTs on ``path``, once there is one (up to 30 s)."""
    for _ in range(300):
        if found := _answers(answers, path):
            return found
        page.wait_for_timeout(100)  # lets Playwright deliver the page's events
    raise AssertionError(f"the sandbox never called {path}")


def test_the_sandbox_shows_netmdts_short_card_and_sends_feedback_for_it(
    servers: dict[str, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    page, answers = _open(browser, servers, "si-net-patient")
    from tests.test_cdshooks import SI_NET_SUMMARY as summary

    title = page.get_by_text(summary, exact=True)
    expect(title).to_be_visible(timeout=30_000)
    card = page.locator(".MuiCard-root").filter(has=title)
    # The Markdown renders as paragraphs and lists: headings bold, one item per leading option.
    expect(card.locator("p > strong")).to_have_text(
        ["Recommended", "Consider", re.compile(r"^Undecided: \d+ options$"), "Possible trials."]
    )
    expect(card.locator("li")).to_have_count(3)
    expect(card.locator("li").first).to_contain_text("Long-acting somatostatin analogue")
    expect(card.get_by_text("netmdt knowledge base 2026.11")).to_be_visible()
    [call] = _wait_for(page, answers, "/cds-services/netmdt-patient-view")
    assert call.status == 200
    [sent] = call.json()["cards"]
    assert (sent["summary"], sent["indicator"]) == (summary, "info")
    sent_prefetch = json.loads(call.request.post_data)["prefetch"]
    assert set(sent_prefetch) == set(PREFETCH)

    # Accepting a suggestion and dismissing the card send feedback, which netmdt accepts
    # (the card was issued) and audits.
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as accepted:
        card.get_by_role(
            "button", name="Find out: Progression in the last 12 months (RECIST)"
        ).click()
    assert accepted.value.status == 200, accepted.value.text()
    card.get_by_role("button", name="select dismiss reason").click()
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as dismissed:
        page.get_by_role("menuitem", name="The MDT has decided otherwise").click()
    assert dismissed.value.status == 200, dismissed.value.text()
    assert json.loads(dismissed.value.request.post_data)["feedback"][0]["overrideReason"][
        "reason"]["code"] == "mdt-decided-otherwise"  # fmt: skip
    events = _audit(servers)
    assert ("read", "fhir_patient", "si-net-patient") in events
    assert [e[:2] for e in events if e[0].startswith("cds_")] == [
        ("cds_accepted", "cds_card"), ("cds_overridden", "cds_card")]  # fmt: skip
    assert {e[2] for e in events if e[0].startswith("cds_")} == {sent["uuid"]}
    page.close()


def test_the_cards_link_lands_on_a_page_that_offers_registration(
    servers: dict[str, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    from netmdt.api.routes import add_user, user_input

    with servers["app"].state.netmdt.sessions() as db:
        add_user(db, "test-setup", user_input("coord", ["coordinator"], "a long test passphrase"))
    page, _ = _open(browser, servers, "si-net-patient")
    link = page.get_by_role("button", name="Full assessment in netmdt")
    expect(link).to_be_visible(timeout=30_000)
    with page.context.expect_page() as opened:
        link.click()
    netmdt = opened.value
    assert netmdt.url == f"{servers['netmdt']}/patients/find?nhs_number=9000000009"
    expect(netmdt.get_by_label("User name")).to_be_visible()  # log in, then land there
    netmdt.get_by_label("User name").fill("coord")
    netmdt.get_by_label("Password").fill("a long test passphrase")
    netmdt.get_by_role("button", name="Log in").click()
    expect(netmdt.get_by_role("heading", name="Not registered in netmdt yet")).to_be_visible()
    netmdt.get_by_role("link", name="Register this patient").click()
    expect(netmdt.get_by_label("NHS number (10 digits)")).to_have_value("9000000009")
    netmdt.close()
    page.close()


def test_a_patient_without_a_neuroendocrine_diagnosis_gets_no_card(
    servers: dict[str, Any], browser: Any
) -> None:
    patient = json.loads(NO_CANCER.read_text())["entry"][0]["resource"]["id"]
    page, answers = _open(browser, servers, patient)
    [answer] = _wait_for(page, answers, "/cds-services/netmdt-patient-view")
    assert answer.status == 200, answer.text()
    assert answer.json() == {"cards": []}
    page.wait_for_timeout(500)  # let the sandbox render what it was given: nothing
    assert page.locator(".MuiCard-root").count() == 0
    assert _answers(answers, "/feedback") == []
    page.close()


def test_a_paged_prefetch_the_sandbox_cut_short_is_named_on_the_card(
    servers: dict[str, Any], browser: Any
) -> None:
    """Sandbox finding 3: the sandbox sends only the first page of each search and no
    fhirAuthorization; the card says what it rests on only in part."""
    from playwright.sync_api import expect

    page, answers = _open(browser, servers, "pnet-patient")
    [answer] = _wait_for(page, answers, "/cds-services/netmdt-patient-view")
    assert answer.status == 200, answer.text()
    [card] = answer.json()["cards"]
    partial = (
        "**Partial data.** This card rests on part of the record: results and observations "
        "(the EHR sent only the first page)."
    )
    assert partial in card["detail"].split("\n\n")
    shown = page.locator(".MuiCard-root p").filter(has_text="This card rests on part of")
    expect(shown).to_have_text(partial.replace("**", ""))
    page.close()
