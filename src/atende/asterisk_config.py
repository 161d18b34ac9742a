"""The Asterisk side of an installation: the dialplan that sends calls to the URA.

``atende asterisk-config`` prints it, filled with this installation's host, port and
technician destination, ready to paste into ``extensions_custom.conf`` (FreePBX) or
``extensions.conf`` (plain Asterisk). Without a flow name it sends calls to the path ``ura``,
which runs the default flow (``ATENDE_FLOW``); with one, to that flow's own path and context, so
the dialplans of several flows can be pasted side by side. FastAGI has no authentication, so
atende listens on loopback and refuses other addresses by default: :func:`listener_settings`
says what to change when Asterisk is on another host.
"""

from __future__ import annotations

import ipaddress

from atende.config import Settings

ASTERISK_ADDRESS = "ASTERISK_ADDRESS"
"""Stands for the address Asterisk connects from when ``--asterisk-address`` was not given."""

TEMPLATE = """\
; atende URA: {flow_note}
; Paste into /etc/asterisk/extensions_custom.conf (FreePBX) or extensions.conf,
; then run: asterisk -rx "dialplan reload"
;
; FreePBX: Admin > Custom Destinations > Add: Target "{ura},s,1", Description "URA atende {path}";
; then point an Inbound Route, an IVR option or a Misc Application (extension {extension})
; at that Custom Destination.
[{ura}]
exten => s,1,NoOp(atende URA {path})
 same => n,Answer()
 same => n,Set(TIMEOUT(absolute)=1800)
 same => n,AGI(agi://{host}:{port}/{path})
 ; To reach a technician the URA sends the call on to {context},{exten},{priority}
 ; (ATENDE_ATTENDANT_DEST) with ${{ATENDE_PROTOCOL}} set; it never comes back here then.
 ; Reaching this line means the URA ended without a hand-over.
 same => n,Hangup()

[atende-dial]
; Callers dial {extension} to reach the URA (include this context in your phones' context).
exten => {extension},1,Goto({ura},s,1)

; Example of a technicians' destination, if you have none yet: uncomment, name the context
; and extension in ATENDE_ATTENDANT_DEST (here {context},{exten},{priority}).
;[{context}]
;exten => {exten},{priority},NoOp(atende: protocolo ${{ATENDE_PROTOCOL}})
; same => n,Set(CDR(userfield)=${{ATENDE_PROTOCOL}})
; same => n,Queue(suporte,t,,,300)
; same => n,Hangup()
"""


def dialplan(
    host: str, port: int, extension: str, settings: Settings, flow: str | None = None
) -> str:
    """The dialplan for the flow ``flow`` (None: the default flow, through the path ``ura``)."""
    context, exten, priority = settings.attendant_destination
    if flow is None:
        path, note = "ura", f"the default flow, ATENDE_FLOW={settings.flow}"
    else:
        path, note = flow, f"flow {flow}"
    return TEMPLATE.format(
        flow_note=note,
        path=path,
        ura=f"atende-{path}",
        host=host,
        port=port,
        extension=extension,
        context=context,
        exten=exten,
        priority=priority,
    )


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def listener_settings(host: str, settings: Settings, asterisk: IPAddress | None) -> dict[str, str]:
    """The FastAGI settings (name: value) to set before Asterisk, reaching atende at ``host``
    from ``asterisk`` (None: unknown), gets through; empty when the current ones already do."""
    if _loopback(host) and (asterisk is None or asterisk.is_loopback):
        return {}  # Asterisk on this host, over loopback: the defaults serve it
    needed = {}
    if _loopback(settings.agi_host):
        needed["ATENDE_AGI_HOST"] = "0.0.0.0"
    allowed = settings.agi_networks
    if asterisk is None and all(network.is_loopback for network in allowed):
        needed["ATENDE_AGI_ALLOW"] = f"{settings.agi_allow},{ASTERISK_ADDRESS}/32"
    elif asterisk is not None and not any(asterisk in network for network in allowed):
        needed["ATENDE_AGI_ALLOW"] = f"{settings.agi_allow},{asterisk}/{asterisk.max_prefixlen}"
    return needed


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"
