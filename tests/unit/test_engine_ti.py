"""The shipped ``ti`` flow end to end with fakes: every branch of seed 000's URA."""

from __future__ import annotations

from atende.domain.ticket_status import TicketStatus
from atende.flows import shipped_flow
from atende.flows.ports import EngineSettings, TicketStatusView
from unit.fakes import ANA, BRUNO, CODE, NOW, FakeHours, Fakes, known, protocol

TI = shipped_flow("ti")
GOODBYE = "Obrigado por ligar. Até logo!"


def caller(caller_id: str | None = None, **settings: object) -> Fakes:
    fakes = Fakes(
        directory=known(("extension", "2001", ANA), ("code", "1001", ANA), ("code", "1002", BRUNO)),
        settings=EngineSettings(**settings),  # type: ignore[arg-type]
    )
    fakes.call.caller_id = caller_id
    return fakes


def test_open_a_ticket_from_the_own_extension() -> None:
    fakes = caller("2001")
    assert fakes.run(TI, "1", "1", "1", "2") == "ticket_opened"
    ticket = fakes.tickets.opened[0]
    assert (ticket.person, ticket.item.name, ticket.call_id) == (ANA, "Impressora", 7)
    assert ticket.idempotency_key == "call:1795228819.8:item:12"
    assert fakes.codes.sent == []  # untrusted: the own extension needs no code
    number = protocol(101)
    assert fakes.outbox.messages == [
        ("1001", f"Seu chamado de Impressora foi aberto com o protocolo {number}.")
    ]
    heard = fakes.call.heard()
    assert "Você é Ana Souza?" in heard and " ".join(number) in heard.replace("  ", " ")
    assert heard.endswith(GOODBYE)
    assert fakes.log.names() == [
        "greeting", "main_menu", "identify_to_open", "verify_code", "confirm_person",
        "choose_service", "choose_service", "open_ticket", "read_ticket_protocol",
        "ticket_opened",
    ]  # fmt: skip
    assert fakes.log.identified == [1] and fakes.log.outcome == "ticket_opened"
    assert fakes.log.claims == [True]  # no link follows: identifying claims the protocols


def test_open_a_ticket_by_code_with_the_one_time_code() -> None:
    fakes = caller()
    assert fakes.run(TI, "1", "1001#", CODE, "~#", "1", "2", "1") == "ticket_opened"
    assert fakes.codes.sent == [1]
    assert fakes.call.prepared == ["Você é Ana Souza? Tecle 1 para confirmar, 2 se não for você."]
    assert fakes.tickets.opened[0].item.name == "Internet"  # one item: no item menu
    assert "Opção inválida." not in fakes.call.heard()


def test_an_unknown_code_is_said_when_opening_a_ticket() -> None:
    fakes = caller()
    assert fakes.run(TI, "1", "9999#", "9998#", "9997#") == "no_input"
    heard = fakes.call.heard()
    assert heard.count("Código de cadastro não encontrado.") == 3
    assert "Não foi possível concluir o atendimento." in heard


def test_a_wrong_one_time_code_three_times() -> None:
    fakes = caller()
    assert fakes.run(TI, "1", "1001#", "111111", "222222", "333333") == "verification_failed"
    assert fakes.call.heard().count("Código incorreto.") == 3
    assert fakes.tickets.opened == [] and fakes.call.hung_up


def test_the_one_time_code_not_sent_fails_the_call() -> None:
    fakes = caller()
    fakes.codes.sends = False
    assert fakes.run(TI, "1", "1001#", CODE) == "failed"
    assert "Não foi possível enviar o código" in fakes.call.heard()


def test_no_phone_for_the_one_time_code() -> None:
    fakes = caller()
    assert fakes.run(TI, "1", "1002#") == "failed"
    assert "não tem um celular" in fakes.call.heard()


def test_not_me_declines() -> None:
    fakes = caller("2001")
    assert fakes.run(TI, "1", "2") == "declined"
    assert fakes.call.heard().endswith(f"Tudo bem. Nenhum chamado foi aberto. {GOODBYE}")


def known_ticket(fakes: Fakes, owner: str = "1001") -> str:
    number = protocol(42)
    view = TicketStatusView("Impressora", NOW.date(), TicketStatus.IN_PROGRESS)
    fakes.tickets.known[number] = (owner, view)
    return number


def test_status_of_an_own_ticket_after_the_one_time_code() -> None:
    fakes = caller()
    number = known_ticket(fakes)
    assert fakes.run(TI, "2", "1001#", CODE, f"{number}#") == "status_given"
    said = "O chamado de Impressora, aberto em dez de março de dois mil e vinte e seis, está"
    assert f"{said} em atendimento." in fakes.call.heard()
    assert fakes.log.at("ticket_status") == [{"result": "found"}]


def test_status_from_the_own_extension_needs_no_code() -> None:
    fakes = caller("2001")
    number = known_ticket(fakes)
    assert fakes.run(TI, "2", f"{number}#") == "status_given"
    assert fakes.codes.sent == []


def test_another_persons_ticket_and_a_missing_one_sound_alike() -> None:
    heard = []
    for owner in ("1002", None):
        fakes = caller("2001")
        number = known_ticket(fakes, owner or "nobody")
        if owner is None:
            fakes.tickets.known.clear()
        assert fakes.run(TI, "2", f"{number}#", f"{number}#", f"{number}#") == "no_input"
        heard.append(fakes.call.heard())
    assert heard[0] == heard[1] and heard[0].count("Chamado não encontrado.") == 3


def test_an_unknown_code_for_status_is_heard_as_a_known_one() -> None:
    wrong = ("111111", "222222", "333333")
    known_caller, unknown_caller = caller(), caller()
    assert known_caller.run(TI, "2", "1001#", *wrong) == "verification_failed"
    assert unknown_caller.run(TI, "2", "9999#", *wrong) == "verification_failed"
    assert known_caller.call.heard() == unknown_caller.call.heard()
    assert unknown_caller.codes.sent == [] and unknown_caller.outbox.messages == []
    assert "não encontrado" not in unknown_caller.call.heard()


def test_the_attendant_in_business_hours() -> None:
    fakes = caller()
    assert fakes.run(TI, "3") == "transferred"
    assert fakes.call.handed_over is not None
    destination, variables = fakes.call.handed_over
    assert (destination.context, destination.extension) == ("from-internal", "200")
    assert variables == {"ATENDE_PROTOCOL": protocol(1), "ATENDE_CALL_ID": "7"}
    assert fakes.protocols.issued[0]["reason"] == "transferência para atendente"
    assert not fakes.call.hung_up and not fakes.call.heard().endswith(GOODBYE)


def test_out_of_hours_the_offer_opens_a_ticket() -> None:
    fakes = caller("2001")
    fakes.hours = FakeHours(open=False)
    assert fakes.run(TI, "~0", "1", "1", "1", "2") == "ticket_opened"
    assert "Nosso horário de atendimento é de segunda a sexta" in fakes.call.heard()
    assert fakes.log.at("attendant") == [{"result": "closed"}]


def test_out_of_hours_without_the_offer() -> None:
    fakes = caller()
    fakes.hours = FakeHours(open=False)
    assert fakes.run(TI, "3", "-") == "out_of_hours"
    assert fakes.call.heard().endswith(GOODBYE) and "Opção inválida." not in fakes.call.heard()


def test_the_information_option_returns_to_the_menu() -> None:
    fakes = caller()
    assert fakes.run(TI, "4", "3") == "transferred"
    assert "Tutoriais e guias" in fakes.call.heard()
    assert fakes.log.names()[:4] == ["greeting", "main_menu", "information", "main_menu"]


def test_protocol_at_start_and_the_survey() -> None:
    fakes = caller("2001", protocol_at_start=True, survey=True)
    assert fakes.run(TI, "1", "1", "1", "2", "-", "5") == "ticket_opened"
    assert fakes.protocols.issued[0]["number"] == protocol(1)
    assert "O número de protocolo deste atendimento é 2 0 2 6" in fakes.call.heard()
    assert fakes.log.scores == [5] and "Obrigado pela sua avaliação." in fakes.call.heard()


def test_a_hang_up_during_the_read_back_is_still_a_ticket() -> None:
    fakes = caller("2001")
    assert fakes.run(TI, "1", "1", "1", "2", "!") == "ticket_opened"
    assert fakes.log.at("hangup") == [{"node": "read_ticket_protocol"}]
    assert len(fakes.outbox.messages) == 1
