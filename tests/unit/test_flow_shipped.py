"""The flows that ship with atende validate, and a flow reads as a tree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from atende.flows import Flow, FlowInvalid, load_flow, shipped_flow, shipped_flow_names
from atende.flows.describe import describe
from atende.flows.nodes import IssueProtocol, Menu, Transfer
from unit.flow_samples import SMALL


def test_both_shipped_flows_validate() -> None:
    assert shipped_flow_names() == ["plano-de-saude", "ti"]
    for name in shipped_flow_names():
        assert shipped_flow(name).name == name


def test_an_unknown_shipped_flow_names_the_ones_there_are() -> None:
    with pytest.raises(KeyError, match="plano-de-saude, ti"):
        shipped_flow("ura")


def test_the_health_plan_flow_offers_complaint_and_cancellation_first() -> None:
    flow = shipped_flow("plano-de-saude")
    assert isinstance(flow.nodes[flow.start], IssueProtocol)  # RN 623: at the very start
    first_menu = next(node for node in flow.nodes.values() if isinstance(node, Menu))
    said = flow.text_of("reason_menu") or ""
    assert "reclamação" in said and "cancelamento" in said and first_menu.options
    transfer = flow.nodes["transfer"]
    assert isinstance(transfer, Transfer)
    assert transfer.variables["ATENDE_PROTOCOL"] == "{protocol}"
    assert transfer.variables["ATENDE_BENEFICIARY"] == "{person.code}"


def test_the_ti_flow_keeps_todays_main_menu_keys_and_adds_information() -> None:
    flow = shipped_flow("ti")
    menu = flow.nodes["main_menu"]
    assert isinstance(menu, Menu)
    assert sorted(menu.options) == ["1", "2", "3", "4"] and menu.repeat_key == "9"
    assert "tecle 4" in (flow.text_of("main_menu") or "")


def test_load_flow_reads_a_file_and_lists_every_error(tmp_path: Path) -> None:
    path = tmp_path / "quebrado.yaml"
    broken = {**SMALL, "start": "nowhere"}
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    with pytest.raises(FlowInvalid) as raised:
        load_flow(path)
    assert str(path) in str(raised.value)
    assert {e.kind for e in raised.value.errors} == {"missing_node", "unreachable"}


def test_a_flow_as_a_tree_of_what_the_caller_hears_and_presses() -> None:
    flow = Flow.model_validate(SMALL)
    assert describe(flow) == (
        "pequeno\n"
        'menu [menu]: "Para sair, tecle 1. Para informações, tecle 2."\n'
        "  tecla 0 (atendente) →\n"
        '    person [transfer]: "Aguarde, vamos transferir sua ligação para um atendente."'
        " variables.ATENDE_CALL_ID = '{call.id}'\n"
        "  tecla 1 →\n"
        '    bye [hang_up]: "Obrigado por ligar. Até logo!"\n'
        "  tecla 2 →\n"
        '    info [info]: "Obrigado por ligar. Até logo!"\n'
        "    (volta para menu)\n"
    )
