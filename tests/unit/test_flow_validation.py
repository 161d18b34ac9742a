"""Every kind of flow error, each from a small broken flow, with its node id and field."""

from __future__ import annotations

from unit.flow_samples import SMALL, after_identify, errors_of, only_error, small


def test_the_small_flow_is_valid() -> None:
    assert errors_of(SMALL) == []


def test_an_exit_to_a_missing_node_names_the_node_and_the_exit() -> None:
    error = only_error(small(info={"type": "info", "prompt": "Olá", "next": "menuu"}))
    assert (error.kind, error.node, error.field) == ("missing_node", "info", "next")
    assert "'menuu'" in str(error) and "node 'info', field 'next'" in str(error)


def test_a_missing_start_or_attendant_node() -> None:
    errors = errors_of({**SMALL, "start": "inicio", "attendant": "pessoa"})
    missing = {(e.kind, e.node, e.field) for e in errors}
    assert ("missing_node", None, "start") in missing
    assert ("missing_node", None, "attendant") in missing


def test_a_node_no_path_leads_to_is_unreachable() -> None:
    error = only_error(small(orphan={"type": "hang_up", "outcome": "failed"}))
    assert (error.kind, error.node) == ("unreachable", "orphan")


def test_key_zero_is_the_engines_in_every_menu() -> None:
    menu = {**SMALL["nodes"]["menu"], "options": {"1": "bye", "2": "info", "0": "bye"}}
    error = only_error(small(menu=menu))
    assert (error.kind, error.node, error.field) == ("reserved_key", "menu", "options.0")


def test_a_repeat_key_that_is_also_an_option_collides() -> None:
    menu = {**SMALL["nodes"]["menu"], "repeat_key": "2"}
    error = only_error(small(menu=menu))
    assert (error.kind, error.node, error.field) == ("key_collision", "menu", "repeat_key")
    assert "'options.2'" in error.message


def test_confirm_keys_collide_with_each_other() -> None:
    confirm = {"type": "confirm_person", "yes_key": "1", "no_key": "1", "next": "bye"}
    error = only_error(after_identify(then=confirm))
    assert (error.kind, error.node, error.field) == ("key_collision", "then", "no_key")


def test_only_ascii_keypad_keys_are_keys() -> None:
    # "¹".isdigit() is True in Python: a keypad has only 0-9, * and #.
    for bad in ("¹", "٣", "12", "a"):
        menu = {**SMALL["nodes"]["menu"], "options": {"1": "bye", "2": "info", bad: "bye"}}
        error = only_error(small(menu=menu))
        assert (error.kind, error.node, error.field) == ("schema", "menu", f"options.{bad}")


def test_unquoted_yaml_keys_are_keys() -> None:
    text = """
name: teclas
start: menu
attendant: person
nodes:
  menu: {type: menu, prompt: Tecle, options: {1: bye, "*": person}, repeat_key: 9}
  bye: {type: hang_up, outcome: no_input}
  person: {type: transfer, variables: {}}
"""
    assert errors_of(text) == []


def test_a_menu_needs_an_attendant_node() -> None:
    document = {**small(person=None), "attendant": None}
    error = only_error(document)
    assert (error.kind, error.node) == ("no_attendant", "menu")


def test_the_way_to_a_person_may_not_ask_for_data() -> None:
    document = small(
        ask={"type": "identify", "by": ["cpf"], "check": "cpf", "next": "person"},
        bye={"type": "hang_up", "outcome": "no_input"},
    )
    document["attendant"] = "ask"
    error = only_error(document)
    assert (error.kind, error.node, error.field) == ("no_way_to_person", None, "attendant")


def test_the_way_to_a_person_must_end_in_a_transfer() -> None:
    document = {**small(person={"type": "hang_up", "outcome": "failed"})}
    error = only_error(document)
    assert error.kind == "no_way_to_person"


def test_a_loop_that_never_waits_for_the_caller() -> None:
    document = small(
        menu={**SMALL["nodes"]["menu"], "options": {"1": "bye", "2": "a"}},
        a={"type": "say", "prompt": "A", "next": "b"},
        b={"type": "goto", "target": "a"},
        info=None,
    )
    error = only_error(document)
    assert (error.kind, error.node, error.field) == ("loop_without_input", "a", "next")
    assert "a, b" in error.message


def test_a_menu_no_input_exit_back_to_itself_loops_without_input() -> None:
    menu = {**SMALL["nodes"]["menu"], "no_input": "menu"}
    error = only_error(small(menu=menu))
    assert (error.kind, error.node, error.field) == ("loop_without_input", "menu", "no_input")


def test_a_loop_through_a_menu_option_waits_for_the_caller() -> None:
    assert errors_of(small(info={"type": "info", "prompt": "Olá", "next": "menu"})) == []


def test_an_unknown_text_key() -> None:
    error = only_error(small(info={"type": "info", "prompt": [{"key": "nope"}], "next": "menu"}))
    assert (error.kind, error.node, error.field) == ("unknown_text", "info", "prompt")


def test_a_flow_text_is_a_known_key() -> None:
    document = {**small(info={"type": "info", "prompt": {"key": "hello"}, "next": "menu"})}
    document["texts"] = {"hello": "Olá, {caller_id}."}
    assert errors_of(document) == []


def test_a_field_no_earlier_node_provides() -> None:
    info = {"type": "info", "prompt": ["Olá", "{person.name}, bom dia."], "next": "menu"}
    error = only_error(small(info=info))
    assert (error.kind, error.node, error.field) == ("unknown_field", "info", "prompt.1")
    assert "{person.name}" in error.message


def test_a_field_an_earlier_node_provides() -> None:
    hello = {"type": "say", "prompt": "Olá, {person.name}.", "next": "bye"}
    assert errors_of(after_identify(then=hello)) == []


def test_a_text_key_keeps_the_fields_its_node_fills() -> None:
    # confirm_name's {name} is filled by confirm_person; an override may not add unknown ones.
    document = after_identify(then={"type": "confirm_person", "next": "bye"})
    assert errors_of(document) == []
    document["texts"] = {"confirm_name": "É {name}, do setor {sector}?"}
    error = only_error(document)
    assert (error.kind, error.node, error.field) == ("unknown_field", "then", "prompt")


def test_a_node_that_needs_an_identified_caller() -> None:
    document = small(
        menu={**SMALL["nodes"]["menu"], "options": {"1": "status", "2": "info"}},
        status={"type": "ticket_status", "next": "bye"},
    )
    error = only_error(document)
    assert (error.kind, error.node, error.field) == ("missing_field", "status", "type")


def test_the_default_transfer_variables_need_a_protocol() -> None:
    error = only_error(small(person={"type": "transfer"}))
    assert (error.kind, error.node, error.field) == (
        "unknown_field",
        "person",
        "variables.ATENDE_PROTOCOL",
    )


def test_a_template_with_an_unmatched_brace() -> None:
    error = only_error(small(info={"type": "info", "prompt": "Olá {", "next": "menu"}))
    assert (error.kind, error.node, error.field) == ("bad_template", "info", "prompt")


def test_every_error_is_returned_not_the_first() -> None:
    document = small(
        info={"type": "info", "prompt": {"key": "nope"}, "next": "gone"},
        orphan={"type": "hang_up", "outcome": "failed"},
    )
    kinds = sorted(e.kind for e in errors_of(document))
    assert kinds == ["missing_node", "unknown_text", "unreachable"]


def test_a_hidden_unknown_caller_needs_a_verify_code_next() -> None:
    hidden = {"type": "identify", "by": ["code"], "reveal_unknown": False, "next": "bye"}
    error = only_error(after_identify(then=hidden))
    assert (error.kind, error.node, error.field) == ("hidden_unknown", "then", "reveal_unknown")
