"""Adapters by name: each adapter module registers itself, and a setting picks it by that name.

A kind of adapter (a message channel, a speech engine, a helpdesk...) is a :class:`Kind`, typed
by the port its adapters fill, and read from one setting (``ATENDE_MESSAGING=whatsapp,email``,
``ATENDE_HELPDESK=glpi``). An adapter module declares the settings model of its own
``ATENDE_...`` variables and registers a builder under its name::

    @register(CHANNELS, "carrier-pigeon", PigeonSettings)
    def build(settings: Settings, own: PigeonSettings) -> PigeonChannel: ...

so adding an adapter is that one module and one setting value. The modules of atende's own
adapters are imported when their name is asked for (a start-up that uses espeak never imports
boto3); a third party's module is named in ``ATENDE_PLUGINS`` (comma-separated module paths,
imported first, like an entry point). A name registered twice is refused, as wazo-agid and
panoramisk refuse a second handler under a name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from atende.config import AdapterSettings, Settings

T = TypeVar("T")
S = TypeVar("S", bound="AdapterSettings")


class RegistryError(Exception):
    """A name registered twice, or a plugin module that cannot be imported."""


@dataclass(frozen=True)
class Adapter(Generic[T]):
    """One registered adapter: its builder, its own settings model, the programs it runs."""

    name: str
    settings: type[AdapterSettings] | None
    build: Callable[[Settings, Any], T]
    system_packages: Mapping[str, str]  # command -> the Debian/Ubuntu package that installs it


@dataclass(eq=False)
class Kind(Generic[T]):
    """A kind of adapter, read from the setting ``variable`` (a comma-separated fallback chain
    when ``chain``); ``builtin`` names "no adapter: atende's own store does it" when set."""

    name: str
    variable: str
    chain: bool = False
    builtin: str | None = None
    modules: Mapping[str, str] = field(default_factory=dict)  # atende's own: name -> module
    adapters: dict[str, Adapter[T]] = field(default_factory=dict)

    def known(self) -> list[str]:
        names = [self.builtin] if self.builtin else []
        return [*names, *self.modules, *(n for n in self.adapters if n not in self.modules)]

    def get(self, name: str) -> Adapter[T]:
        """The adapter registered as ``name``; SettingsError naming the variable otherwise."""
        from atende.config import SettingsError

        if name not in self.adapters and name in self.modules:
            importlib.import_module(self.modules[name])
        if name not in self.adapters:
            known = ", ".join(self.known())
            raise SettingsError(f"{self.variable}: unknown {name!r} (known: {known})")
        return self.adapters[name]

    def needed_by(self, name: str) -> str:
        """How a missing setting of adapter ``name`` is explained."""
        if self.chain:
            return f"needed when {self.variable} names {name}"
        return f"needed when {self.variable}={name}"

    def selected(self, settings: Settings, value: str | None = None) -> list[str]:
        """The names the setting holds (or ``value``, when the caller worked out the setting's
        meaning), first preferred; SettingsError when there is none."""
        from atende.config import SettingsError, chain_names

        if value is None:
            value = str(getattr(settings, self.variable.removeprefix("ATENDE_").lower()))
        names = chain_names(value) if self.chain else [value.strip()]
        if not names or not names[0]:
            raise SettingsError(f"{self.variable}: name at least one of {', '.join(self.known())}")
        return names

    def build(self, settings: Settings, name: str) -> T | None:
        """Adapter ``name`` built from its own settings (None for the builtin name)."""
        if name == self.builtin:
            return None
        adapter = self.get(name)
        own = settings.of(adapter.settings, self.needed_by(name)) if adapter.settings else None
        return adapter.build(settings, own)

    def build_all(self, settings: Settings, value: str | None = None) -> list[T]:
        """The adapters the setting names, in its order (none for the builtin name)."""
        built = (self.build(settings, name) for name in self.selected(settings, value))
        return [adapter for adapter in built if adapter is not None]

    def check(self, settings: Settings, value: str | None = None) -> None:
        """Refuse, naming the variable, an unknown name or a wrong setting of a named one."""
        for name in self.selected(settings, value):
            if name != self.builtin:
                adapter = self.get(name)
                if adapter.settings is not None:
                    settings.of(adapter.settings, self.needed_by(name))


def register(
    kind: Kind[T],
    name: str,
    settings: type[S] | None = None,
    *,
    system_packages: Mapping[str, str] | None = None,
) -> Callable[[Callable[[Settings, S], T]], Callable[[Settings, S], T]]:
    """Register the decorated builder as adapter ``name`` of ``kind``, built with the values
    of its own ``settings`` model."""

    def decorate(build: Callable[[Settings, S], T]) -> Callable[[Settings, S], T]:
        theirs = kind.modules.get(name, build.__module__)  # atende's own names are kept
        if name in kind.adapters or name == kind.builtin or theirs != build.__module__:
            raise RegistryError(f"{kind.name} {name!r} is registered already")
        kind.adapters[name] = Adapter(name, settings, build, system_packages or {})
        return build

    return decorate


def load_plugins(modules: str) -> None:
    """Import the modules ``ATENDE_PLUGINS`` names (comma-separated), so they register; an
    import already done is not repeated (Python keeps modules once)."""
    from atende.config import SettingsError, chain_names

    for module in chain_names(modules):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise SettingsError(f"ATENDE_PLUGINS: cannot import {module!r}: {exc}") from None
