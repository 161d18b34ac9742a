"""Each node type alone, with a fake call and fake ports (the key rules are in test_engine_keys,
whole flows in test_engine_ti and test_engine_health_plan)."""

from __future__ import annotations

from typing import Any

from atende.domain.protocol_numbers import luhn_check_digit
from atende.flows.ports import EngineSettings
from unit.fakes import ANA, PRINTER, FakeHours, Fakes, known, protocol
from unit.flow_samples import flow_of

CPF = "52998224725"  # a valid CPF (check digits 2 and 5)
SAID = {"type": "say", "prompt": "{a}-{reason}-{protocol}", "next": "bye"}


def collect(check: str, **more: Any) -> dict[str, Any]:
    node = {"type": "collect", "prompt": "Digite", "store_as": "a", "check": check, "next": "said"}
    return {**node, **more}


def test_collect_checks_a_cpf_and_keeps_it_in_a_variable() -> None:
    fakes = Fakes()
    flow = flow_of("c", c=collect("cpf"), said=SAID)
    assert fakes.run(flow, "52998224726#", f"{CPF}#") == "no_input"
    assert "Opção inválida." in fakes.call.heard() and f"{CPF}--" in fakes.call.heard()
    assert fakes.log.at("c") == [{"result": "invalid"}, {"result": "ok"}]  # no digits in steps


def test_collect_min_digits_luhn_and_the_failure_exit() -> None:
    flow = flow_of("c", c=collect("luhn", min_digits=4, tries=2, failure="said"), said=SAID)
    fakes = Fakes()
    fakes.run(flow, "18#", "-")
    assert fakes.log.at("c") == [{"result": "invalid"}, {"result": "no_input"}]
    assert fakes.log.at("said") == [{}]


def test_collect_card_check_can_be_turned_off() -> None:
    flow = flow_of("c", c=collect("card"), said=SAID)
    fakes = Fakes(settings=EngineSettings(card_check="none"))
    fakes.run(flow, "1234#")
    assert fakes.log.at("c") == [{"result": "ok"}]


def test_collect_protocol_check() -> None:
    fakes = Fakes()
    fakes.run(flow_of("c", c=collect("protocol"), said=SAID), "2026000001#", f"{protocol(1)}#")
    assert fakes.log.at("c") == [{"result": "invalid"}, {"result": "ok"}]


def test_hours_open_closed_and_holiday() -> None:
    node = {"type": "hours", "open": "a", "closed": "b", "holiday": "c"}
    ends = {k: {"type": "say", "prompt": k, "next": "bye"} for k in "abc"}
    for hours, said in (
        (FakeHours(), "a"),
        (FakeHours(open=False), "b"),
        (FakeHours(holiday=True), "c"),
    ):
        fakes = Fakes(hours=hours)
        fakes.run(flow_of("h", h=node, **ends))
        assert fakes.call.played[0][0] == said


def test_set_fills_variables_and_goto_jumps() -> None:
    flow = flow_of(
        "s",
        s={"type": "set", "variables": {"reason": "x {date} {time}"}, "next": "g"},
        g={"type": "goto", "target": "said"},
        said=SAID,
    )
    fakes = Fakes()
    fakes.run(flow)
    assert fakes.call.played[0][0] == "-x 10/03/2026 10:30-"


def test_hang_up_says_its_prompt_and_ends_with_its_outcome() -> None:
    flow = flow_of("h", h={"type": "hang_up", "prompt": "Fim.", "outcome": "declined"})
    fakes = Fakes()
    assert fakes.run(flow) == "declined"
    assert fakes.call.heard() == "Fim." and fakes.call.hung_up


def test_transfer_to_a_destination_with_fields() -> None:
    node = {
        "type": "transfer",
        "prompt": None,
        "destination": {"context": "fila", "extension": "suporte"},
        "variables": {"ATENDE_CALLER": "{caller_id}"},
    }
    fakes = Fakes()
    fakes.call.caller_id = "5550100"
    assert fakes.run(flow_of("t", t=node)) == "transferred"
    assert fakes.call.handed_over is not None
    destination, variables = fakes.call.handed_over
    assert (destination.context, destination.extension, destination.priority) == (
        "fila",
        "suporte",
        "1",
    )
    assert variables == {"ATENDE_CALLER": "5550100"} and fakes.call.played == []


def test_issue_protocol_keep_link_and_new() -> None:
    flow = flow_of(
        "p1",
        p1={"type": "issue_protocol", "next": "p2"},
        p2={"type": "issue_protocol", "existing": "keep", "next": "p3"},
        p3={"type": "issue_protocol", "existing": "link", "reason": "x", "next": "p4"},
        p4={"type": "issue_protocol", "existing": "new", "next": "said"},
        said=SAID,
    )
    fakes = Fakes()
    fakes.run(flow)
    assert [p["number"] for p in fakes.protocols.issued] == [protocol(1), protocol(2)]
    assert fakes.protocols.linked == [{"number": protocol(1), "person": None, "reason": "x"}]
    assert fakes.call.played[0][0] == f"--{protocol(2)}"


def test_read_protocol_repeats_on_its_key_and_passes_other_keys_on() -> None:
    flow = flow_of(
        "p",
        p={"type": "issue_protocol", "next": "r"},
        r={"type": "read_protocol", "repeats": 2, "next": "m"},
        m={"type": "menu", "prompt": "Menu", "options": {"5": "bye"}},
    )
    fakes = Fakes()
    fakes.run(flow, "~1", "1", "~5")
    assert fakes.log.at("r") == [{}, {"key": "1"}, {"key": "1"}]
    assert fakes.log.at("m") == [{"key": "5"}]
    assert "Menu" not in fakes.call.heard()  # the 5 was typed ahead


def test_choose_service_repeat_keys_and_an_empty_branch() -> None:
    flow = flow_of(
        "w",
        w={"type": "identify", "by": ["extension"], "next": "c"},
        c={"type": "choose_service", "next": "said"},
        said=SAID,
    )
    fakes = Fakes(directory=known(("extension", "2001", ANA)))
    fakes.call.caller_id = "2001"
    fakes.run(flow, "7", "1", "9", "2")
    heard = fakes.call.heard()
    assert heard.count("Escolha o tipo de serviço.") == 2
    assert heard.count("Escolha o serviço de hardware.") == 2
    assert "Vazia" not in heard and "vazia" not in heard
    assert fakes.log.at("c") == [{"category": "1"}, {"item": "2"}]
    branch = flow_of(
        "w",
        w={"type": "identify", "by": ["extension"], "next": "c"},
        c={"type": "choose_service", "branch": "3", "next": "said"},
        said=SAID,
    )
    assert fakes.run(branch) == "failed"


def test_open_ticket_names_the_item_and_the_protocol_field() -> None:
    flow = flow_of(
        "w",
        w={"type": "identify", "by": ["extension"], "next": "c"},
        c={"type": "choose_service", "branch": "1", "next": "o"},
        o={"type": "open_ticket", "description": "Pela URA em {date}", "next": "said"},
        said={"type": "say", "prompt": "{ticket.item} {protocol}", "next": "bye"},
    )
    fakes = Fakes(directory=known(("extension", "2001", ANA)))
    fakes.call.caller_id = "2001"
    assert fakes.run(flow, "2") == "ticket_opened"
    assert fakes.tickets.opened[0].item == PRINTER
    assert fakes.tickets.opened[0].description == "Pela URA em 10/03/2026"
    assert f"Impressora {protocol(101)}" in fakes.call.heard()


def test_identify_by_caller_phone_then_cpf() -> None:
    node = {"type": "identify", "by": ["caller_phone", "cpf"], "check": "cpf", "next": "said"}
    flow = flow_of("w", w=node, said={"type": "say", "prompt": "{person.name}", "next": "bye"})
    by_phone = Fakes(directory=known(("caller_phone", "45999990001", ANA)))
    by_phone.call.caller_id = "45999990001"
    by_phone.run(flow)
    assert by_phone.call.played[0][0] == "Ana Souza"
    by_cpf = Fakes(directory=known(("cpf", CPF, ANA)))
    by_cpf.run(flow, f"{CPF}#")
    assert by_cpf.log.at("w") == [{"by": "cpf"}]


def test_survey_score_wrong_key_and_silence() -> None:
    flow = flow_of("s", s={"type": "survey", "next": "bye"})
    for script, scores, step in (
        (["4"], [4], {"score": 4}),
        (["~8"], [], {"result": "invalid"}),
        (["-"], [], {"result": "no_answer"}),
        (["0"], [], {"result": "invalid"}),
    ):
        fakes = Fakes()
        fakes.run(flow, *script)
        assert (fakes.log.scores, fakes.log.at("s")) == (scores, [step])


def test_a_fault_ends_the_call_as_failed_with_an_apology() -> None:
    fakes = Fakes()
    flow = flow_of("r", r={"type": "read_protocol", "next": "bye"})  # no protocol: a bug
    assert fakes.run(flow) == "failed"
    assert "problema técnico" in fakes.call.heard()


def test_the_card_check_is_luhn() -> None:
    card = "4000123456" + luhn_check_digit("4000123456")
    flow = flow_of("c", c=collect("card"), said=SAID)
    fakes = Fakes()
    fakes.run(flow, f"{card}#")
    assert fakes.log.at("c") == [{"result": "ok"}]
