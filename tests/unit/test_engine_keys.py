"""Keys as a caller presses them on a real Asterisk: the engine's rules, for every flow."""

from __future__ import annotations

from typing import Any

from unit.fakes import ANA, CODE, Fakes, known
from unit.flow_samples import flow_of

ALL = "0123456789*#"
MENU: dict[str, Any] = {
    "type": "menu",
    "prompt": "Para sair, tecle 1.",
    "options": {"1": "bye"},
    "repeat_key": "9",
}
GREETING = {"type": "say", "prompt": "Olá!", "next": "menu"}
CODE_THEN_MENU = flow_of(  # a registration code, a one-time code, then MENU
    "who",
    who={"type": "identify", "by": ["code"], "next": "otp"},
    otp={"type": "verify_code", "policy": "always", "next": "menu"},
    menu=MENU,
)


def test_every_prompt_listens_for_all_keys() -> None:
    fakes = Fakes()
    assert fakes.run(flow_of("hello", hello=GREETING, menu=MENU), "1") == "no_input"
    assert {keys for _, keys in fakes.call.played} == {ALL}


def test_a_wrong_key_in_a_menu_is_an_invalid_option() -> None:
    fakes = Fakes()
    fakes.run(flow_of("menu", menu=MENU), "~5", "1")
    assert fakes.call.heard().split(" | ")[:3] == [
        "Para sair, tecle 1.",
        "Opção inválida.",
        "Para sair, tecle 1.",
    ]
    assert fakes.log.at("menu") == [{"result": "invalid"}, {"key": "1"}]


def test_three_misses_end_the_call_politely() -> None:
    fakes = Fakes()
    assert fakes.run(flow_of("menu", menu=MENU), "5", "-", "~*") == "no_input"
    heard = fakes.call.heard()
    assert heard.count("Opção inválida.") == 2 and heard.count("Não recebemos nenhuma opção.") == 1
    assert heard.endswith("Obrigado por ligar. Até logo!") and fakes.call.hung_up


def test_the_repeat_key_replays_without_counting() -> None:
    fakes = Fakes()
    fakes.run(flow_of("menu", menu=MENU), "9", "9", "9", "1")
    assert fakes.call.heard().count("Para sair, tecle 1.") == 4
    assert "Opção inválida." not in fakes.call.heard()


def test_a_key_typed_during_the_greeting_answers_the_menu() -> None:
    fakes = Fakes()
    fakes.run(flow_of("hello", hello=GREETING, menu=MENU), "~1")
    assert fakes.call.heard() == "Olá! | Obrigado por ligar. Até logo!"
    assert fakes.log.at("menu") == [{"key": "1"}]


def test_a_key_typed_during_invalid_option_answers_the_retry() -> None:
    fakes = Fakes()
    fakes.run(flow_of("menu", menu=MENU), "5", "~1")
    assert fakes.log.at("menu") == [{"result": "invalid"}, {"key": "1"}]
    assert fakes.call.heard().count("Para sair, tecle 1.") == 1


def test_the_hash_after_a_six_digit_code_is_not_a_wrong_key() -> None:
    flow, fakes = CODE_THEN_MENU, Fakes(directory=known(("code", "1001", ANA)))
    fakes.run(flow, "1001#", CODE, "~#", "1")
    assert fakes.log.at("menu") == [{"key": "1"}]
    assert "Opção inválida." not in fakes.call.heard()
    assert fakes.call.heard().count("Para sair, tecle 1.") == 2  # cut by the #, played again


def test_the_hash_after_a_full_entry_does_not_end_the_next_entry_empty() -> None:
    flow = flow_of(
        "first",
        first={"type": "collect", "prompt": "Um", "store_as": "a", "max_digits": 4, "next": "b"},
        b={"type": "collect", "prompt": "Dois", "store_as": "b", "next": "bye"},
    )
    fakes = Fakes()
    fakes.run(flow, "1234", "#", "5678#")
    assert fakes.log.at("b") == [{"result": "ok"}]


def test_a_hash_typed_when_not_stray_is_a_wrong_key() -> None:
    flow = flow_of(
        "first",
        first={"type": "collect", "prompt": "Um", "store_as": "a", "max_digits": 4, "next": "menu"},
        menu=MENU,
    )
    fakes = Fakes()
    fakes.run(flow, "12#", "~#", "1")
    assert fakes.log.at("menu") == [{"result": "invalid"}, {"key": "1"}]


def test_a_digit_typed_ahead_starts_the_next_entry() -> None:
    flow = flow_of(
        "hello",
        hello={"type": "say", "prompt": "Olá!", "next": "first"},
        first={"type": "collect", "prompt": "Um", "store_as": "a", "max_digits": 4, "next": "bye"},
    )
    fakes = Fakes()
    fakes.run(flow, "~1", "234")
    assert fakes.call.asked[-1] == ("Um", 3) and fakes.log.at("first") == [{"result": "ok"}]


def test_zero_reaches_the_attendant_from_every_menu_like_node() -> None:
    nodes: dict[str, dict[str, Any]] = {
        "menu": MENU,
        "confirm": {"type": "confirm_person", "next": "bye"},
        "service": {"type": "choose_service", "next": "bye"},
    }
    for node_id, node in nodes.items():
        flow = flow_of(
            "who", who={"type": "identify", "by": ["extension"], "next": node_id}, **{node_id: node}
        )
        fakes = Fakes(call=Fakes().call, directory=known(("extension", "2001", ANA)))
        fakes.call.caller_id = "2001"
        assert fakes.run(flow, "0") == "transferred", node_id
        assert fakes.log.at(node_id) == [{"key": "0"}]


def test_zero_reaches_a_person_before_any_identification() -> None:
    fakes = Fakes()
    assert fakes.run(flow_of("menu", menu=MENU), "~0") == "transferred"
    assert fakes.directory.asked == [] and fakes.call.handed_over is not None


def test_a_hang_up_is_recorded_at_its_node_with_no_goodbye() -> None:
    flow, fakes = CODE_THEN_MENU, Fakes(directory=known(("code", "1001", ANA)))
    assert fakes.run(flow, "1001#", "!") == "abandoned"
    assert fakes.log.at("hangup") == [{"node": "otp"}]
    assert fakes.codes.sent == [1]
    assert not fakes.call.hung_up and fakes.call.handed_over is None
    assert fakes.log.outcome == "abandoned"


def test_a_hang_up_during_a_transfer_prompt_is_no_transfer() -> None:
    fakes = Fakes()
    assert fakes.run(flow_of("menu", menu=MENU), "~0", "!") == "abandoned"
    assert fakes.call.handed_over is None and fakes.log.at("hangup") == [{"node": "person"}]


def test_one_moment_is_said_while_a_port_is_slow() -> None:
    fakes = Fakes(directory=known(("code", "1001", ANA)))
    slow_find = fakes.directory.find

    async def find(by: Any, value: str) -> Any:
        import asyncio

        await asyncio.sleep(0.03)
        return await slow_find(by, value)

    fakes.directory.find = find  # type: ignore[method-assign]
    fakes.settings = type(fakes.settings)(one_moment_after=0.01)
    flow = flow_of("who", who={"type": "identify", "by": ["code"], "next": "bye"})
    fakes.run(flow, "1001#")
    assert "Um momento, por favor." in fakes.call.heard()
    assert {"wait": "one_moment"} in fakes.log.at("who")
