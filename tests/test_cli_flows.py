"""``atende flows`` as an integrator uses it: check in CI, export, edit, publish, restore, route;
``atende serve`` refusing a flow that cannot run; the dialplan of one flow."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy import Engine

from atende.db.models import FlowVersion
from atende.flows.loader import SHIPPED
from atende.flows.schema import json_schema
from cli_runner import ATENDE, README, free_port, readme_block, run_atende, run_shell
from conftest import services_on
from unit.flow_samples import SMALL, small


def write_flow(path: Path, document: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def test_check_says_ok_or_lists_every_error_with_node_and_field(tmp_path: Path) -> None:
    good = run_atende("flows", "check", str(SHIPPED / "plano-de-saude.yaml"))
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip().endswith(": ok")
    broken = small(menu={**SMALL["nodes"]["menu"], "options": {"1": "nowhere", "2": "info"}})
    bad = run_atende("flows", "check", str(write_flow(tmp_path / "bad.yaml", broken)))
    assert bad.returncode == 1
    assert "bad.yaml: 2 error(s)" in bad.stdout
    assert "node 'menu', field 'options.1': exit to 'nowhere'" in bad.stdout
    assert "node 'bye': no path from start" in bad.stdout
    missing = run_atende("flows", "check", str(tmp_path / "none.yaml"))
    assert missing.returncode == 2


def test_export_edit_publish_show_and_restore(cli_env: dict[str, str], tmp_path: Path) -> None:
    exported = run_atende("flows", "export", "ti", **cli_env)
    assert exported.stdout == (SHIPPED / "ti.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(exported.stdout)
    document["texts"]["greeting"] = "Olá, aqui é o suporte de TI da prefeitura."
    edited = write_flow(tmp_path / "ti.yaml", document)
    published = run_atende("flows", "publish", str(edited), "--note", "nova saudação", **cli_env)
    assert published.returncode == 0, published.stderr
    assert "flow ti version 2 published" in published.stderr

    versions = run_atende("flows", "versions", "ti", **cli_env).stdout.splitlines()
    assert versions[0].split("\t") == ["version", "published", "by", "note", "current"]
    assert versions[1].split("\t")[2] == "atende"
    assert versions[2].split("\t")[0] == "2" and versions[2].endswith("\tnova saudação\t*")
    assert versions[2].split("\t")[2].startswith("cli:")
    shown = run_atende("flows", "show", "ti", **cli_env)
    assert "ti version 2" in shown.stderr
    assert 'greeting [say]: "Olá, aqui é o suporte de TI da prefeitura."' in shown.stdout
    old = run_atende("flows", "show", "ti", "--version", "1", **cli_env)
    assert "ti version 1" in old.stderr and "suporte de TI da prefeitura" not in old.stdout

    restored = run_atende("flows", "restore", "ti", "1", **cli_env)
    assert "flow ti version 1 restored as version 3" in restored.stderr
    current = run_atende("flows", "export", "ti", **cli_env).stdout
    assert current == exported.stdout
    assert run_atende("flows", "export", "ti", "--version", "2", **cli_env).stdout == (
        edited.read_text(encoding="utf-8")
    )
    unknown = run_atende("flows", "restore", "ti", "7", **cli_env)
    assert unknown.returncode == 2 and "flow 'ti' has no version 7" in unknown.stderr


def test_publishing_an_invalid_file_lists_its_errors_and_stores_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    broken = small(menu={**SMALL["nodes"]["menu"], "options": {"0": "bye", "2": "info"}})
    refused = run_atende(
        "flows", "publish", str(write_flow(tmp_path / "x.yaml", broken)), **cli_env
    )
    assert refused.returncode == 1
    assert "node 'menu', field 'options.0': key 0 is the engine's" in refused.stdout
    listed = run_atende("flows", "list", **cli_env).stdout
    assert "pequeno" not in listed


def test_routes_by_dialled_number_show_in_the_list(cli_env: dict[str, str], tmp_path: Path) -> None:
    routed = run_atende("flows", "route", "4001", "plano-de-saude", **cli_env)
    assert routed.returncode == 0 and "calls to 4001 run the flow plano-de-saude" in routed.stderr
    listed = run_atende("flows", "list", **cli_env)
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert rows[0] == ["name", "version", "published", "by", "numbers"]
    assert [(r[0], r[1], r[3], r[4]) for r in rows[1:]] == [
        ("plano-de-saude", "1", "atende", "4001"),
        ("ti", "1", "atende", "-"),
    ]
    assert "the FastAGI path ura runs ti (ATENDE_FLOW)" in listed.stderr
    assert run_atende("flows", "unroute", "4001", **cli_env).returncode == 0
    again = run_atende("flows", "unroute", "4001", **cli_env)
    assert again.returncode == 2 and "no route for the number '4001'" in again.stderr
    unknown = run_atende("flows", "route", "4002", "vendas", **cli_env)
    assert unknown.returncode == 2 and "no flow named 'vendas'" in unknown.stderr


def test_schema_is_the_json_schema_of_a_flow() -> None:
    result = run_atende("flows", "schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == json_schema()


def test_serve_refuses_to_start_with_a_flow_that_cannot_run(
    cli_env: dict[str, str], shared_engine: Engine
) -> None:
    old = small(info={"type": "info", "prompt": "Oi", "next": "menu", "voice": "x"})
    runtime = services_on(cli_env, shared_engine).runtime
    with runtime.sessions.begin() as session:  # as an older atende with another schema did
        text = yaml.safe_dump(old, allow_unicode=True)
        session.add(FlowVersion(name="pequeno", version=1, text=text, published_by="cli:ana"))
    result = run_atende(
        "serve",
        ATENDE_HTTP_PORT=str(free_port()),
        ATENDE_AGI_PORT=str(free_port()),
        ATENDE_FLOW="suporte",
        **cli_env,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()  # after the log lines of the migrations
    refused = next(i for i, line in enumerate(lines) if line.startswith("atende: the call flows"))
    assert lines[refused + 1 :] == [
        "  ATENDE_FLOW: no flow named 'suporte'; there are: pequeno, plano-de-saude, ti",
        "  flow 'pequeno' version 1: node 'info', field 'voice': unknown field (a typo? see "
        "flow.schema.json for the fields of each type)",
    ]


def test_asterisk_config_for_one_flow_and_for_the_default(tmp_path: Path) -> None:
    env = {"ATENDE_DATA_DIR": str(tmp_path)}
    health = run_atende("asterisk-config", "--host", "10.0.0.5", "--flow", "plano-de-saude", **env)
    assert health.returncode == 0, health.stderr
    assert "same => n,AGI(agi://10.0.0.5:4573/plano-de-saude)" in health.stdout
    assert "[atende-plano-de-saude]" in health.stdout
    assert "exten => 4000,1,Goto(atende-plano-de-saude,s,1)" in health.stdout
    default = run_atende("asterisk-config", "--host", "10.0.0.5", ATENDE_FLOW="ti", **env)
    assert "AGI(agi://10.0.0.5:4573/ura)" in default.stdout
    assert "the default flow, ATENDE_FLOW=ti" in default.stdout
    unknown = run_atende("asterisk-config", "--flow", "vendas", **env)
    assert unknown.returncode == 2
    assert "no flow named 'vendas'; there are: plano-de-saude, ti" in unknown.stderr
    assert unknown.stdout == ""


def test_readme_flow_examples_work_as_copied(cli_env: dict[str, str], tmp_path: Path) -> None:
    script = readme_block("## Call flows").replace("scripts/run ", f"{ATENDE} ")
    result = run_shell(script, cwd=tmp_path, EDITOR="true", **cli_env)
    assert result.returncode == 0, result.stderr
    assert "flow ti version 2 published" in result.stderr
    assert "flow ti version 1 restored as version 3" in result.stderr
    assert "ti.yaml: ok" in result.stdout


def test_readme_custom_flow_is_accepted_as_copied(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split("\n### A flow of your own\n", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "descricao.yaml"
    path.write_text(example, encoding="utf-8")
    checked = run_atende("flows", "check", str(path))
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.strip().endswith("descricao.yaml: ok")
    assert yaml.safe_load(example)["name"] == "descricao"


def test_readme_lists_every_node_type_once() -> None:
    section = README.read_text(encoding="utf-8").split("\n### Node types\n", 1)[1]
    table = section.split("\n### ", 1)[0]
    rows = [row for row in table.splitlines() if row.startswith("| `")]
    listed = [row.split("|")[1].strip().strip("`") for row in rows]
    types = json_schema()["$defs"]
    assert sorted(listed) == sorted(
        definition["properties"]["type"]["const"]
        for definition in types.values()
        if "type" in definition.get("properties", {})
        and "const" in definition["properties"]["type"]
    )
