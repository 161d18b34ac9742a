"""What a flow needs to be published beyond being valid: a name a FastAGI path can reach."""

from __future__ import annotations

import pytest
import yaml

from atende.flows import FlowInvalid
from atende.services.flow_store import NAME_MAX, check_text
from unit.flow_samples import SMALL


def refusal(name: str) -> str:
    with pytest.raises(FlowInvalid) as refused:
        check_text(yaml.safe_dump({**SMALL, "name": name}), "f.yaml")
    [error] = refused.value.errors
    assert (error.node, error.field) == (None, "name")
    return error.message


def test_a_valid_flow_with_a_free_name_can_be_published() -> None:
    assert check_text(yaml.safe_dump(SMALL)).name == "pequeno"


def test_ura_is_the_default_flows_path_and_cannot_name_a_flow() -> None:
    assert "default flow (ATENDE_FLOW)" in refusal("ura")


def test_a_name_longer_than_the_column_is_refused() -> None:
    assert refusal("a" * (NAME_MAX + 1)) == f"at most {NAME_MAX} characters"
    assert check_text(yaml.safe_dump({**SMALL, "name": "a" * NAME_MAX})).name == "a" * NAME_MAX
