"""The service catalog a fresh database starts with: seed 000's Tabela 1 ("URAs e serviços").

Keys follow the seed's main service menu (1 Sistemas ... 6 Ramal; 7 repeats the menu), items
are numbered in the table's order. The spoken prompt is the longer label the seed's menu used.
"""

from __future__ import annotations

from typing import NamedTuple


class DefaultCategory(NamedTuple):
    key: str
    name: str
    prompt: str
    items: tuple[str, ...]


TABELA_1: tuple[DefaultCategory, ...] = (
    DefaultCategory("1", "Sistemas", "Sistemas", ("Atualização do portal", "Problemas diversos")),
    DefaultCategory(
        "2",
        "Computador",
        "Computador",
        (
            "Formatação computador",
            "Computador não liga",
            "Sem conexão com a impressora",
            "Problema de conexão com a Internet",
            "Instalação de software",
            "Problemas diversos",
        ),
    ),
    DefaultCategory(
        "3",
        "Impressoras",
        "Impressoras",
        ("Instalar impressora", "Configurar impressora", "Troca de suprimentos"),
    ),
    DefaultCategory(
        "4",
        "Acessos",
        "Liberação de acessos",
        (
            "Privilégio IPM",
            "Liberar acesso ao Wi-Fi",
            "Liberar acesso a sites",
            "Liberar acesso a pastas do servidor",
        ),
    ),
    DefaultCategory("5", "Projetor", "Projetor multimídia", ("Reserva de projetor",)),
    DefaultCategory("6", "Ramal", "Ramal telefônico", ("Problema com ramal",)),
)
