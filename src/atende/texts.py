"""Every sentence a caller hears or the dashboard shows, per language, in one place.

Code refers to a text by its key and fills named fields (``text("goodbye")``,
``text("confirm_name", name=...)``). Another language is one more dictionary in ``CATALOGS``
with the same keys; a missing key in it falls back to Brazilian Portuguese. Texts without
fields are the fixed prompts: the speech layer renders all of them at start-up. A text filled
with a person's data (their name) comes back as a :class:`PersonalText`, which the speech layer
treats as such (see :mod:`atende.speech.cache`).
"""

from __future__ import annotations

import string

DEFAULT_LANGUAGE = "pt_BR"
PERSONAL_FIELDS = frozenset({"name"})  # fields that hold a person's data


class PersonalText(str):
    """A text that holds a person's data: its audio must not be found from its words."""


PT_BR: dict[str, str] = {
    # Call flow: greeting and main menu.
    "greeting": "Olá! Você ligou para o atendimento de suporte.",
    "protocol_at_start": "O número de protocolo deste atendimento é",
    "main_menu": (
        "Para abrir um chamado, tecle 1. Para consultar um chamado, tecle 2. "
        "Para falar com um atendente, tecle 3. Para ouvir novamente, tecle 9."
    ),
    "invalid_option": "Opção inválida.",
    "no_option": "Não recebemos nenhuma opção.",
    "too_many_tries": "Não foi possível concluir o atendimento. Por favor, ligue novamente.",
    "goodbye": "Obrigado por ligar. Até logo!",
    "busy": "Todas as nossas linhas estão ocupadas. Por favor, ligue novamente em instantes.",
    "one_moment": "Um momento, por favor.",
    "technical_problem": (
        "Desculpe, estamos com um problema técnico. Por favor, ligue novamente mais tarde."
    ),
    # Identification and one-time code.
    "ask_code": "Digite seu código de cadastro seguido de sustenido.",
    "unknown_code": "Código de cadastro não encontrado.",
    "otp_sent": "Enviamos um código de seis dígitos para o seu celular.",
    "ask_otp": "Digite o código recebido, seguido de sustenido.",
    "wrong_otp": "Código incorreto.",
    "otp_unavailable": (
        "Não foi possível enviar o código de verificação agora. Por favor, ligue novamente."
    ),
    "no_phone": "Seu cadastro não tem um celular para receber o código de verificação.",
    "confirm_name": "Você é {name}? Tecle 1 para confirmar, 2 se não for você.",
    "not_you": "Tudo bem. Nenhum chamado foi aberto.",
    # Opening a ticket.
    "category_menu_intro": "Escolha o tipo de serviço.",
    "menu_option": "Para {label}, tecle {key}.",
    "menu_repeat": "Para ouvir novamente, tecle {key}.",
    "item_menu_intro": "Escolha o serviço de {category}.",
    "ticket_opened": "Seu chamado foi aberto. Anote o número do protocolo:",
    "repeat_protocol": "Para ouvir o número novamente, tecle 1.",
    "protocol_message": "Seu chamado de {item} foi aberto com o protocolo {protocol}.",
    "attendance_protocol_message": "O protocolo do seu atendimento é {protocol}.",
    "otp_message": "Seu código de verificação é {code}. Ele vale por 5 minutos.",
    "email_subject_otp": "Seu código de verificação",
    "email_subject_protocol": "Protocolo do seu chamado",
    "email_subject_status_change": "Atualização do seu chamado",
    # Ticket status.
    "ask_protocol": "Digite o número do protocolo seguido de sustenido.",
    "invalid_protocol": "Número de protocolo inválido.",
    "ticket_not_found": "Chamado não encontrado.",
    "ticket_status": "O chamado de {item}, aberto em {date}, está {status}.",
    "ticket_status_unreadable": (
        "O chamado de {item}, aberto em {date}, foi registrado no sistema de chamados com o "
        "número {number}. Esse sistema não informa a situação do chamado por telefone; "
        "consulte-a diretamente nele."
    ),
    "status_open": "aberto",
    "status_in_progress": "em atendimento",
    "status_waiting": "aguardando",
    "status_resolved": "resolvido",
    "status_closed": "encerrado",
    "status_cancelled": "cancelado",
    "status_change_message": "Seu chamado de {item}, protocolo {protocol}, agora está {status}.",
    # Dates as spoken (see speech.numbers): "vinte e um de novembro de dois mil e vinte e seis".
    "spoken_date": "{day} de {month} de {year}",
    "spoken_date_no_year": "{day} de {month}",
    "month_1": "janeiro",
    "month_2": "fevereiro",
    "month_3": "março",
    "month_4": "abril",
    "month_5": "maio",
    "month_6": "junho",
    "month_7": "julho",
    "month_8": "agosto",
    "month_9": "setembro",
    "month_10": "outubro",
    "month_11": "novembro",
    "month_12": "dezembro",
    # Technician.
    "transferring": "Aguarde, vamos transferir sua ligação para um atendente.",
    "out_of_hours": "Nosso horário de atendimento é {hours}.",
    "out_of_hours_offer": "Para abrir um chamado agora, tecle 1.",
    # Satisfaction survey (seed 000, Tabela 2).
    "survey": (
        "De 1 a 5, qual sua satisfação com este atendimento? "
        "Tecle 1 para muito ruim e 5 para muito bom."
    ),
    "survey_thanks": "Obrigado pela sua avaliação.",
}

CATALOGS: dict[str, dict[str, str]] = {"pt_BR": PT_BR}


def text(key: str, language: str = DEFAULT_LANGUAGE, /, **fields: object) -> str:
    """The text ``key`` in ``language`` with its fields filled; KeyError names a missing one."""
    template = CATALOGS.get(language, PT_BR).get(key) or PT_BR[key]
    if not fields:
        return template
    filled = template.format(**fields)
    return PersonalText(filled) if PERSONAL_FIELDS & fields.keys() else filled


def fixed_prompts(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """The texts that need no field: what can be synthesized before any call arrives."""
    catalog = {**PT_BR, **CATALOGS.get(language, {})}
    return {
        key: value
        for key, value in catalog.items()
        if not any(name for _, name, _, _ in string.Formatter().parse(value) if name)
    }
