"""The dashboard's forms over real HTTP: ticket changes, catalog, hours and holidays, people and
their CSV import, the team, API tokens, and the message and speech checks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

import httpx
import pytest

from atende.demo import load_demo_people
from atende.domain.ticket_status import TicketStatus
from atende.services.bundle import Services
from atende.services.tickets import NewTicket
from e2e.site import ADMIN, TECHNICIAN, Member, browser_like, csrf_in, dashboard, sign_in

MakeServices = Callable[..., Services]
Site = tuple[Services, str, httpx.Client]


@pytest.fixture
def site(make_services: MakeServices) -> Iterator[Site]:
    services = make_services()
    load_demo_people(services.people)
    with dashboard(services) as base_url, browser_like(base_url, ADMIN) as admin:
        yield services, base_url, admin


def post(client: httpx.Client, path: str, data: dict[str, str], **extra: object) -> httpx.Response:
    """Submit a form of the page at ``path``'s site with the session's CSRF token."""
    token = csrf_in(client.get("/").text)
    return client.post(path, data={**data, "csrf_token": token}, **extra)  # type: ignore[arg-type]


def test_ticket_page_only_allows_the_next_statuses(site: Site) -> None:
    services, _, admin = site
    ticket, _ = services.tickets.open(NewTicket(person_code="1002", item_id=1), "api:erp")
    page = admin.get(f"/tickets/{ticket.protocol}").text
    assert 'value="in_progress"' in page and 'value="closed"' not in page
    refused = post(admin, f"/tickets/{ticket.protocol}", {"status": "closed", "note": "x"})
    assert refused.status_code == 409
    assert "não é permitida" in refused.text
    assert services.tickets.get(ticket.protocol).status == "open"
    assert len(services.tickets.get(ticket.protocol).history) == 1
    nothing = post(admin, f"/tickets/{ticket.protocol}", {"status": "", "note": ""})
    assert nothing.status_code == 422 and "Nada a mudar" in nothing.text
    assert admin.get("/tickets/00000000000").status_code == 404


def test_queue_filters_and_search(site: Site) -> None:
    services, _, admin = site
    maria, _ = services.tickets.open(NewTicket(person_code="1001", item_id=1), "api:erp")
    joao, _ = services.tickets.open(
        NewTicket(person_code="1002", item_id=5, channel="web"), "api:erp"
    )
    services.tickets.change(joao.protocol, actor="test", status=TicketStatus.WAITING)

    def shown(query: str) -> set[str]:
        text = admin.get(f"/?{query}").text
        return {p for p in (maria.protocol, joao.protocol) if f'data-protocol="{p}"' in text}

    assert shown("") == {maria.protocol, joao.protocol}
    assert shown("q=jo%C3%A3o") == {joao.protocol}
    assert shown(f"q={maria.protocol}") == {maria.protocol}
    assert shown("status=waiting") == {joao.protocol}
    assert shown("channel=api") == {maria.protocol}
    assert shown("person=1001") == {maria.protocol}
    assert shown(f"item={joao.item.id}") == {joao.protocol}
    assert shown(f"category={maria.item.category.id}") == {maria.protocol}
    assert shown("from=2000-01-01&to=2000-01-02") == set()
    # The live refresh marks rows newer than the page it refreshes.
    rows = admin.get(f"/tickets/rows?since={maria.id}").text
    assert rows.count("is-new") == 1 and f'data-protocol="{joao.protocol}" class="is-new"' in rows


def test_catalog_add_rename_and_swap_keys(site: Site) -> None:
    services, _, admin = site
    [printers] = [c for c in services.catalog.tree() if c.name == "Impressoras"]
    [projector] = [c for c in services.catalog.tree() if c.name == "Projetor"]
    answer = post(admin, f"/admin/catalog/categories/{printers.id}", {"key": projector.key})
    assert answer.status_code == 303
    keys = {c.name: c.key for c in services.catalog.tree()}
    assert (keys["Impressoras"], keys["Projetor"]) == (projector.key, printers.key)
    post(admin, f"/admin/catalog/categories/{projector.id}", {"name": "Projetores"})
    assert services.catalog.category(projector.id).name == "Projetores"
    taken = post(admin, "/admin/catalog/categories", {"key": "1", "name": "Outra"})
    assert taken.status_code == 409 and "já está em uso" in taken.text
    reserved = post(admin, "/admin/catalog/categories", {"key": "9", "name": "Outra"})
    assert reserved.status_code == 422
    for key in ("¹", "٣", "७"):
        not_a_key = post(admin, "/admin/catalog/categories", {"key": key, "name": "Outra"})
        assert not_a_key.status_code == 422 and "A tecla deve ser um dígito" in not_a_key.text
        not_an_item_key = post(
            admin, f"/admin/catalog/categories/{printers.id}/items", {"key": key, "name": "X"}
        )
        assert not_an_item_key.status_code == 422
    assert "Outra" not in {c.name for c in services.catalog.tree()}
    first, second = printers.items[0], printers.items[1]
    post(admin, f"/admin/catalog/items/{second.id}", {"key": first.key, "name": "Renomeado"})
    swapped = services.catalog.item(second.id)
    assert (swapped.key, swapped.name) == (first.key, "Renomeado")
    assert services.catalog.item(first.id).key == second.key


def test_hours_and_holidays_override_the_settings(site: Site) -> None:
    services, _, admin = site
    answer = post(
        admin, "/admin/hours", {"day0": "08:00-12:00, 13:00-17:00", "day5": "09:00-11:00"}
    )
    assert answer.status_code == 303
    hours = services.site.business_hours()
    assert "segunda" in hours.describe() and "sábado" in hours.describe()
    assert "terça" not in hours.describe()
    monday_morning = datetime(2026, 3, 9, 9, 0, tzinfo=services.runtime.zone)
    assert hours.is_open(monday_morning)
    assert not hours.is_open(monday_morning.replace(day=10))  # Tuesday: closed now
    bad = post(admin, "/admin/hours", {"day0": "8h às 12h"})
    assert bad.status_code == 422 and "Segunda" in bad.text
    assert services.site.business_hours().is_open(monday_morning)  # unchanged
    added = post(admin, "/admin/hours/days", {"day": "2026-03-09", "name": "Aniversário"})
    assert added.status_code == 303
    assert not services.site.business_hours().is_open(monday_morning)
    yearly = post(admin, "/admin/hours/days", {"day": "2026-11-02", "name": "x", "yearly": "true"})
    assert yearly.status_code == 303
    assert [h.day for h in services.site.holidays()] == ["11-02", "2026-03-09"]
    post(admin, "/admin/hours/reset/hours", {})
    default = services.runtime.settings.hours
    assert services.site.effective()["hours"].value == default
    bad_calendar = post(admin, "/admin/hours/holidays-calendar", {"calendar": "XX"})
    assert bad_calendar.status_code == 422


def test_people_add_import_and_deactivate(site: Site) -> None:
    services, _, admin = site
    added = post(
        admin,
        "/admin/people",
        {"code": "3001", "name": "Carla Dias", "phone": "(45) 98888-7777", "extensions": "2101"},
    )
    assert added.status_code == 303
    assert services.people.get("3001").phone == "+5545988887777"
    bad = post(admin, "/admin/people", {"code": "3002", "name": "X", "phone": "123"})
    assert bad.status_code == 422
    csv_text = (
        "code,name,phone,extensions,email,card_number,cpf\n"
        "3003,Davi Lima,(41) 97777-0000,2200,,,\n"
        "1001,Maria da Silva Souza,,,,,\n"
        "3004,Sem Telefone,abc,,,,\n"
    )
    imported = admin.post(
        "/admin/people/import",
        data={"csrf_token": csrf_in(admin.get("/").text)},
        files={"file": ("pessoas.csv", csv_text.encode(), "text/csv")},
    )
    assert imported.status_code == 200
    assert "Linhas importadas: 2-3 (1 criadas, 1 atualizadas)" in imported.text
    assert "Linha 4: Telefone inválido." in imported.text
    assert services.people.get("1001").name == "Maria da Silva Souza"
    post(admin, "/admin/people/3003/active", {"active": "false"})
    assert services.people.get("3003").active is False


def import_file(admin: httpx.Client, content: bytes) -> httpx.Response:
    return admin.post(
        "/admin/people/import",
        data={"csrf_token": csrf_in(admin.get("/").text)},
        files={"file": ("pessoas.csv", content, "text/csv")},
    )


def test_people_form_refuses_a_taken_extension_and_a_bad_email(site: Site) -> None:
    services, _, admin = site
    person = {"code": "3001", "name": "Carla Dias", "extensions": "2101 2001"}
    taken = post(admin, "/admin/people", person)
    assert taken.status_code == 409
    assert 'class="error"' in taken.text and "O ramal 2001 já pertence à pessoa 1001." in taken.text
    bad_email = post(admin, "/admin/people", {**person, "extensions": "2101", "email": "carla@"})
    assert bad_email.status_code == 422 and "E-mail inválido." in bad_email.text
    assert services.people.find(extension="2101") == []
    assert post(admin, "/admin/people", {**person, "extensions": "2101"}).status_code == 303


def test_people_import_of_an_excel_pt_br_file(site: Site) -> None:
    services, _, admin = site
    excel = (
        "code;name;phone;extensions;email;card_number;cpf\r\n"
        "3001;João Conceição;(41) 97777-0000;2200;joao@prefeitura.example;;\r\n"
        "3002;Inês Araújo;;2001;;;\r\n"
        "3003;Cecília Gonçalves;;2300;cecília@;;\r\n"
        '3004;Estêvão Ribeiro;;"2400;2401";;;\r\n'
    ).encode("cp1252")
    imported = import_file(admin, excel)
    assert imported.status_code == 200
    assert "Linhas importadas: 2, 5 (2 criadas, 0 atualizadas)" in imported.text
    assert 'id="import-rejected"' in imported.text and "Linhas não importadas (2):" in imported.text
    assert "Linha 3: O ramal 2001 já pertence à pessoa 1001." in imported.text
    assert "Linha 4: E-mail inválido." in imported.text
    assert services.people.get("3001").name == "João Conceição"
    assert services.people.get("3004").extensions == ("2400", "2401")
    assert [p.code for p in services.people.find(extension="2001")] == ["1001"]
    # UTF-8 with a BOM, comma-separated: the same rules.
    utf8 = "\ufeffcode,name\n3003,Cecília Gonçalves\n".encode()
    assert "Linhas importadas: 2 (1 criadas" in import_file(admin, utf8).text
    assert services.people.get("3003").name == "Cecília Gonçalves"


def test_people_import_of_an_unreadable_file_is_an_error(site: Site) -> None:
    services, _, admin = site
    before = len(services.people.find(extension="2001"))
    no_columns = import_file(admin, "código;nome\r\n3001;Ana\r\n".encode("cp1252"))
    assert no_columns.status_code == 422
    assert 'class="error"' in no_columns.text and "pelo menos code e name" in no_columns.text
    assert 'class="notice"' not in no_columns.text
    nothing_good = import_file(admin, b"code;name\r\n;Sem C\xf3digo\r\n")
    assert nothing_good.status_code == 422
    assert "Linha 2: Informe o código da pessoa." in nothing_good.text
    assert 'class="notice"' not in nothing_good.text
    undecodable = import_file(admin, b"code,name\n3001,\x81\x8d\n")
    assert undecodable.status_code == 422 and "nem em Windows-1252" in undecodable.text
    assert len(services.people.find(extension="2001")) == before


def test_team_members_and_the_last_admin(site: Site) -> None:
    services, base_url, admin = site
    created = post(
        admin,
        "/admin/users",
        {"username": "bia", "name": "Bia", "password": "senha-da-bia-1", "role": "technician"},
    )
    assert created.status_code == 303
    short = post(admin, "/admin/users", {"username": "c", "name": "C", "password": "123"})
    assert short.status_code == 422
    with browser_like(base_url) as client:
        bia = Member("bia", "Bia", "senha-da-bia-1", "technician")
        assert sign_in(client, bia).status_code == 303
    [ana] = [u for u in services.users.list() if u.username == ADMIN.username]
    last = post(admin, f"/admin/users/{ana.id}", {"role": "technician"})
    assert last.status_code == 409 and "pelo menos um administrador" in last.text
    [tiago] = [u for u in services.users.list() if u.username == TECHNICIAN.username]
    promoted = post(admin, f"/admin/users/{tiago.id}", {"role": "admin"})
    assert promoted.status_code == 303
    assert post(admin, f"/admin/users/{ana.id}", {"role": "technician"}).status_code == 303


def test_api_token_shown_once_then_revoked(site: Site) -> None:
    services, base_url, admin = site
    created = post(admin, "/admin/tokens", {"name": "erp", "scope": "read", "allow": "127.0.0.0/8"})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    token = created.text.split('id="token-value">')[1].split("<")[0]
    assert token.startswith("atd_")
    assert token not in admin.get("/admin/tokens").text  # never shown again
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as api:
        assert api.get("/api/v1/catalog").status_code == 200
        [row] = services.tokens.list()
        assert row.allow == ("127.0.0.0/8",) and row.scopes == ("read",)
        post(admin, f"/admin/tokens/{row.id}/revoke", {})
        assert api.get("/api/v1/catalog").status_code == 401
    bad = post(admin, "/admin/tokens", {"name": "x", "scope": "read", "allow": "não é rede"})
    assert bad.status_code == 422 and "Rede inválida" in bad.text


def test_message_and_speech_checks(site: Site) -> None:
    services, _, admin = site
    sent = post(admin, "/admin/checks/message", {"to": "(45) 99999-0001"})
    assert sent.status_code == 200 and "Código de teste enviado" in sent.text
    outbox = services.runtime.settings.data_dir / "outbox.jsonl"
    [message] = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert message["to"] == "+5545999990001" and message["kind"] == "otp"
    bad = post(admin, "/admin/checks/message", {"to": "12"})
    assert bad.status_code == 422
    spoken = post(admin, "/admin/checks/speech", {"text": "Bom dia, equipe de suporte."})
    assert spoken.status_code == 200
    audio_url = spoken.text.split('<audio controls src="')[1].split('"')[0]
    audio = admin.get(audio_url)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content[:4] == b"RIFF" and len(audio.content) > 8000
