"""The shipped ``plano-de-saude`` flow end to end with fakes (seed 004, RN 623, Decreto 11.034)."""

from __future__ import annotations

from atende.domain.protocol_numbers import luhn_check_digit
from atende.flows import shipped_flow
from unit.fakes import ANA, FakeHours, Fakes, known, protocol

PLAN = shipped_flow("plano-de-saude")
CARD = "4000123456" + luhn_check_digit("4000123456")
BAD_CARD = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)


def beneficiary() -> Fakes:
    return Fakes(directory=known(("card", CARD, ANA)))


def test_protocol_at_start_then_the_reason_card_and_transfer() -> None:
    fakes = beneficiary()
    assert fakes.run(PLAN, "-", "3", f"{BAD_CARD}#", f"{CARD}#") == "transferred"
    number = protocol(1)
    heard = fakes.call.heard()
    assert heard.startswith("Olá! Você ligou para a central de atendimento ao beneficiário.")
    assert "reclamação" in heard and "cancelamento" in heard
    assert "Número de carteirinha inválido." in heard
    assert fakes.directory.asked == [("card", CARD)]  # the bad card was never looked up
    assert fakes.protocols.issued == [{"number": number, "person": None, "reason": None}]
    assert fakes.protocols.linked == [{"number": number, "person": ANA, "reason": "reclamação"}]
    assert fakes.log.claims == [False]  # the link right after queues the one message
    assert fakes.call.handed_over is not None
    assert fakes.call.handed_over[1] == {
        "ATENDE_PROTOCOL": number,
        "ATENDE_BENEFICIARY": "1001",
        "ATENDE_REASON": "reclamação",
        "ATENDE_CALL_ID": "7",
    }
    assert fakes.outbox.messages == [
        (
            "1001",
            f"Seu atendimento de reclamação foi registrado em 10/03/2026, às 10:30, com o "
            f"protocolo {number}.",
        )
    ]


def test_each_reason_is_passed_on() -> None:
    for key, reason in (("1", "autorização"), ("2", "reembolso"), ("4", "cancelamento")):
        fakes = beneficiary()
        assert fakes.run(PLAN, "-", key, f"{CARD}#") == "transferred"
        assert fakes.call.handed_over is not None
        assert fakes.call.handed_over[1]["ATENDE_REASON"] == reason


def test_the_protocol_is_repeated_on_request() -> None:
    fakes = beneficiary()
    fakes.run(PLAN, "1", "-", "0")
    assert fakes.call.heard().count("O número de protocolo deste atendimento é") == 2


def test_zero_reaches_a_person_without_any_data() -> None:
    fakes = beneficiary()
    assert fakes.run(PLAN, "-", "0") == "transferred"
    assert fakes.directory.asked == []
    assert fakes.call.handed_over is not None
    assert fakes.call.handed_over[1]["ATENDE_BENEFICIARY"] == ""


def test_a_beneficiary_not_found_is_helped_by_a_person() -> None:
    fakes = beneficiary()
    other = "5000123456" + luhn_check_digit("5000123456")
    assert fakes.run(PLAN, "-", "2", f"{other}#", f"{other}#", f"{other}#") == "transferred"
    assert fakes.call.heard().count("Carteirinha não encontrada.") == 3
    assert fakes.protocols.linked == []


def test_out_of_hours_the_caller_leaves_a_message() -> None:
    fakes = beneficiary()
    fakes.hours = FakeHours(open=False)
    assert fakes.run(PLAN, "-", "1", f"{CARD}#") == "out_of_hours"
    assert fakes.recordings.attached == [("/var/lib/atende/recordings/call-7", protocol(1))]
    assert "deixe uma mensagem após o sinal" in fakes.call.heard()


def test_the_message_is_queued_when_the_caller_hangs_up_right_after() -> None:
    fakes = beneficiary()
    fakes.hours = FakeHours(open=False)
    assert fakes.run(PLAN, "-", "4", f"{CARD}#", "!") == "abandoned"
    assert len(fakes.outbox.messages) == 1 and fakes.protocols.linked
    assert fakes.log.at("hangup") == [{"node": "closed"}]


def test_a_message_is_kept_when_the_caller_hangs_up_after_speaking() -> None:
    fakes = beneficiary()
    fakes.hours = FakeHours(open=False)
    fakes.call.hangs_up_recording = True
    assert fakes.run(PLAN, "-", "4", f"{CARD}#") == "abandoned"
    assert fakes.recordings.attached == [("/var/lib/atende/recordings/call-7", protocol(1))]
    assert fakes.log.at("closed") == [{"result": "hangup", "seconds": 12}]
