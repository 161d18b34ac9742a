"""Server CPU per call of the seed's architecture: one PHP process per AGI step, curl to an API.

Issue 12 compares atende with what seed 000 ran (chapter 6): Asterisk starts a PHP script for
each AGI step of a call (``AGI(verifyCodigo.php,...)``); the script reads the AGI environment
from its standard input, asks the ticket system's REST API with cURL (class ``apiChamado``,
JSON POST), sets channel variables for the dialplan and exits; the prompts themselves are
played by Asterisk. The target is that atende costs at least 20x less server CPU per call, so
both are measured on the same machine in the same sitting (``ura_bench.py --with-seed`` runs
this after its own runs and prints the ratio).

What runs here, per call, one process after another (the seed's six scripts, as the thesis
describes them): ``verificarHorario`` (hours, no API), ``verificarUsuarioChamado`` (two API
requests), ``verifyCodigo``, ``verifyUser``, ``novoChamado`` and ``removerAudio`` (one each),
each a fresh ``php`` process fed an AGI environment block, answering ``200 result=1`` to each
of its commands like Asterisk. The figure is the CPU (user + system) of those processes, from
the kernel's accounting of waited-for children (``RUSAGE_CHILDREN``).

Honest limits: the API here is a stub HTTP server inside this benchmark (canned JSON; its CPU
is not counted), where the seed's was a PHP web application over MySQL, so the seed's "API
side" is left out; the scripts carry a minimal AGI reader instead of the ``phpagi`` library and
do not include ``/etc/freepbx.conf`` (both would add parse and start-up time per step). Both
make the seed look cheaper than it was: the ratio it gives is a lower bound.

Needs Debian's PHP command line with cURL: ``apt-get install php-cli php-curl`` (this script
says so and stops when ``php`` is missing).

Run: ``.venv/bin/python benchmarks/seed_bench.py [--calls 50]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _common import HOST

# The seed's class apiChamado (figures 13-14): one cURL handle, JSON POST, JSON answer.
SERVICE_PHP = r"""<?php
class apiChamado {
    protected $conexao;
    protected $hash;
    protected $url;
    function __construct() {
        $this->url = getenv('SEED_API_URL');
        $this->hash = 'bench-token';
        $this->conexao = curl_init();
        curl_setopt($this->conexao, CURLOPT_RETURNTRANSFER, true);
        curl_setopt($this->conexao, CURLOPT_POST, true);
        curl_setopt($this->conexao, CURLOPT_HTTPHEADER,
            ['Content-Type: application/json', 'Authorization: ' . $this->hash]);
    }
    public function verifyUserBoolean($user) {
        return $this->curl('/verificar_usuario', ['usuario' => $user])->existe ? 1 : 0;
    }
    public function getUsuario($user) {
        return $this->curl('/get_user_to_speech', ['usuario' => $user]);
    }
    public function newCall($user, $service) {
        return $this->curl('/novo_chamado', ['usuario' => $user, 'servico' => $service]);
    }
    public function verificar_codigo($user, $codigo) {
        return $this->curl('/verificar_codigo', ['user' => $user, 'codigo' => $codigo]) ? 1 : 0;
    }
    public function removerAudio($name_audio) {
        return $this->curl('/remover_audio', ['audio' => $name_audio]);
    }
    public function exitSession() {
        curl_close($this->conexao);
    }
    protected function curl($path, $dados) {
        curl_setopt($this->conexao, CURLOPT_URL, $this->url . $path);
        curl_setopt($this->conexao, CURLOPT_POSTFIELDS, json_encode($dados));
        $temp = curl_exec($this->conexao);
        return json_decode($temp);
    }
}
"""

# The part of phpagi the scripts use: the environment block, one command and its answer.
AGI_PHP = r"""<?php
class AGI {
    public $request = [];
    function __construct() {
        while (($line = fgets(STDIN)) !== false && trim($line) !== '') {
            [$name, $value] = array_pad(explode(':', $line, 2), 2, '');
            $this->request[trim($name)] = trim($value);
        }
    }
    function evaluate($command) {
        fwrite(STDOUT, $command . "\n");
        fflush(STDOUT);
        $answer = trim(fgets(STDIN));
        preg_match('/^(\d+) result=(\S*)/', $answer, $parts);
        return ['code' => (int)($parts[1] ?? 0), 'result' => $parts[2] ?? ''];
    }
    function set_variable($name, $value) {
        return $this->evaluate("SET VARIABLE $name \"$value\"");
    }
    function verbose($message) {
        return $this->evaluate("VERBOSE \"$message\" 1");
    }
}
"""

HEAD = """<?php
include __DIR__ . '/serviceChamado.php';
require_once __DIR__ . '/phpagi.php';
$AGI = new AGI();
"""

# (script, its arguments as the dialplan passes them, its body after HEAD); figures 15-20.
STEPS: list[tuple[str, list[str], str]] = [
    (
        "verificarHorario.php",
        [],
        """$agora = new DateTime('now', new DateTimeZone('America/Sao_Paulo'));
$dia = (int)$agora->format('N');
$hora = (int)$agora->format('Gi');
$aberto = $dia <= 5 && (($hora >= 800 && $hora < 1130) || ($hora >= 1330 && $hora < 1700));
$AGI->set_variable('horario', $aberto ? 1 : 0);
""",
    ),
    (
        "verificarUsuarioChamado.php",
        ["1001"],
        """$cod_user = $argv[1];
$service = new apiChamado();
if ($service->verifyUserBoolean($cod_user)) {
    $retorno = $service->getUsuario($cod_user);
    $AGI->set_variable('cod_user', $cod_user);
    $AGI->set_variable('audio_url', $retorno->url);
    $AGI->set_variable('audio_name', $retorno->nome_audio);
}
$service->exitSession();
""",
    ),
    (
        "verifyCodigo.php",
        ["1001", "4821"],
        """$cod_user = $argv[1];
$codigo = $argv[2];
$service = new apiChamado();
$retorno = $service->verificar_codigo($cod_user, $codigo);
$AGI->set_variable('cod_ver', $retorno);
$service->exitSession();
""",
    ),
    (
        "verifyUser.php",
        ["1001"],
        """$cod_user = $argv[1];
$service = new apiChamado();
$retorno = $service->getUsuario($cod_user);
$AGI->set_variable('audio_url_name', $retorno->url);
$AGI->set_variable('audio_name', $retorno->nome_audio);
$service->exitSession();
""",
    ),
    (
        "novoChamado.php",
        ["1001", "31"],
        """$cod_user = $argv[1];
$cod_servico = $argv[2];
$AGI->set_variable('cod_user', $cod_user);
$AGI->set_variable('cod_servico', $cod_servico);
$service = new apiChamado();
$retorno = $service->newCall($cod_user, $cod_servico);
$AGI->set_variable('audio_url', $retorno->url);
$AGI->set_variable('audio_name', $retorno->nome_audio);
$service->exitSession();
""",
    ),
    (
        "removerAudio.php",
        ["chamado-20260001"],
        """$service = new apiChamado();
$retorno = $service->removerAudio($argv[1]);
$AGI->verbose('audio removido: ' . json_encode($retorno));
$service->exitSession();
""",
    ),
]
API_REQUESTS_PER_CALL = 6  # verificarUsuarioChamado makes two, four scripts one each

ANSWERS: dict[str, object] = {
    "/verificar_usuario": {"existe": True},
    "/get_user_to_speech": {"url": "https://chamados.example/audio/1001", "nome_audio": "u1001"},
    "/verificar_codigo": {"status": True},
    "/novo_chamado": {"url": "https://chamados.example/audio/c1", "nome_audio": "chamado-1"},
    "/remover_audio": {"status": True},
}


class StubApi(BaseHTTPRequestHandler):
    """The ticket system's API as the scripts see it: canned JSON per path, requests counted."""

    requests = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps(ANSWERS.get(self.path, {"erro": "desconhecido"})).encode()
        with StubApi.lock:
            StubApi.requests += 1
        self.send_response(200 if self.path in ANSWERS else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def environment(script: Path, uniqueid: str) -> bytes:
    """What Asterisk writes to a (non-network) AGI script's standard input first."""
    lines = [
        f"agi_request: {script.name}",
        "agi_channel: PJSIP/bench-00000001",
        "agi_language: pt_BR",
        "agi_type: PJSIP",
        f"agi_uniqueid: {uniqueid}",
        "agi_version: 22.10.1",
        "agi_callerid: 2001",
        "agi_calleridname: unknown",
        "agi_context: ura",
        "agi_extension: s",
        "agi_priority: 4",
        "agi_enhanced: 0.0",
        "agi_accountcode: ",
        "agi_threadid: 139645065287360",
    ]
    return ("\n".join(lines) + "\n\n").encode()


def run_step(
    php: str, script: Path, arguments: list[str], uniqueid: str, env: dict[str, str]
) -> int:
    """One AGI step as Asterisk runs it; returns how many AGI commands the script sent."""
    process = subprocess.Popen(
        [php, str(script), *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(environment(script, uniqueid))
    process.stdin.flush()
    commands = 0
    for _line in process.stdout:
        commands += 1
        process.stdin.write(b"200 result=1\n")
        process.stdin.flush()
    process.stdin.close()
    errors = process.stderr.read() if process.stderr else b""
    if process.wait() != 0 or errors.strip():
        raise RuntimeError(f"{script.name} failed ({process.returncode}): {errors[-500:]!r}")
    return commands


@dataclass(frozen=True)
class SeedResult:
    calls: int
    steps: int
    agi_commands: int
    api_requests: int
    cpu_s: float
    step_wall_s: list[float]

    @property
    def cpu_per_call_ms(self) -> float:
        return self.cpu_s * 1e3 / self.calls

    @property
    def cpu_per_step_ms(self) -> float:
        return self.cpu_s * 1e3 / self.steps


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def php_or_exit() -> str:
    php = shutil.which("php")
    if php is None:
        raise SystemExit("php not found: install Debian's with `apt-get install php-cli php-curl`")
    return php


def measure(calls: int) -> SeedResult:
    """``calls`` calls of the seed's six steps, one process at a time, after one warm-up call."""
    php = php_or_exit()
    api = ThreadingHTTPServer((HOST, 0), StubApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    workdir = Path(tempfile.mkdtemp(prefix="seed-bench-"))
    try:
        (workdir / "serviceChamado.php").write_text(SERVICE_PHP)
        (workdir / "phpagi.php").write_text(AGI_PHP)
        for name, _, body in STEPS:
            (workdir / name).write_text(HEAD + body)
        env = os.environ | {"SEED_API_URL": f"http://{HOST}:{api.server_address[1]}"}

        def call(number: int, walls: list[float]) -> int:
            commands = 0
            for name, arguments, _ in STEPS:
                started = time.perf_counter()
                commands += run_step(php, workdir / name, arguments, f"1.{number}", env)
                walls.append(time.perf_counter() - started)
            return commands

        call(0, [])  # warm-up: the page cache holds php and its modules
        requests_before, cpu_before, walls = StubApi.requests, children_cpu_s(), []
        commands = sum(call(number, walls) for number in range(1, calls + 1))
        return SeedResult(
            calls=calls,
            steps=calls * len(STEPS),
            agi_commands=commands,
            api_requests=StubApi.requests - requests_before,
            cpu_s=children_cpu_s() - cpu_before,
            step_wall_s=walls,
        )
    finally:
        api.shutdown()
        api.server_close()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="calls of six steps each")
    args = parser.parse_args()
    php = php_or_exit()
    version = subprocess.run([php, "-r", "echo PHP_VERSION;"], capture_output=True, text=True)
    result = measure(args.calls)
    print(
        f"seed architecture, PHP {version.stdout.strip()}, {os.cpu_count()} CPUs: "
        f"{result.calls} calls, {result.steps} AGI steps ({result.agi_commands} AGI commands, "
        f"{result.api_requests} API requests)"
    )
    print(
        f"CPU per step {result.cpu_per_step_ms:.1f} ms, per call {result.cpu_per_call_ms:.1f} ms "
        f"(the PHP processes; the API side not included); wall time per step "
        f"p50 {statistics.median(result.step_wall_s) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
