"""Keys as a caller presses them on a real Asterisk, kept in one place for every node.

Asterisk throws away a key pressed while no command runs, or while a file plays that does not
listen for it (see ``asterisk-agi-transcript.md``). So:

* every prompt plays listening for all twelve keys, and the key is judged in code: a node
  that waits for a key gets a wrong one to answer "opção inválida" instead of losing it;
* a key that cuts a prompt which waits for nothing (a greeting, an information, "opção
  inválida" itself) is kept (``pending``) and answers the next node that waits for a key:
  a caller who knows the menu types ahead;
* after a fixed-length entry is complete (``GET DATA`` returns at the last digit) the ``#``
  the prompt asked for arrives during the next command: the first listening command after
  such an entry ignores a ``#`` and plays its prompt again.
"""

from __future__ import annotations

from atende.flows.call import FlowCall, FlowSpeech

ALL_KEYS = "0123456789*#"
END_KEY = "#"


class Keypad:
    """The keys of one call: type-ahead carried between nodes, the stray ``#`` swallowed."""

    def __init__(self, call: FlowCall) -> None:
        self.call = call
        self.pending = ""  # keys typed ahead, oldest first
        self._stray_end_key = False  # a "#" may follow a complete fixed-length entry

    async def play(self, speech: FlowSpeech) -> str | None:
        """Play ``speech`` listening for every key; the key that cut it, or None."""
        if not speech:
            return None
        key = await self.call.play(speech, ALL_KEYS)
        if self._take_stray(key == END_KEY):
            key = await self.call.play(speech, ALL_KEYS)  # it was cut at its first words
        return key

    async def wait(self, timeout_s: float) -> str | None:
        key = await self.call.wait_key(timeout_s)
        if self._take_stray(key == END_KEY):
            key = await self.call.wait_key(timeout_s)
        return key

    async def say(self, speech: FlowSpeech) -> None:
        """A prompt that waits for nothing: a key that cuts it is typed ahead."""
        self.push(await self.play(speech))

    def push(self, key: str | None) -> None:
        """Keep ``key`` for the next node that waits for one."""
        if key:
            self.pending += key

    async def choose(self, speech: FlowSpeech, timeout_s: float) -> str | None:
        """The caller's key for a node that waits for one: a key typed ahead, else one
        pressed during ``speech`` or up to ``timeout_s`` after it; None when none came."""
        if self.pending:
            key, self.pending = self.pending[0], self.pending[1:]
            return key
        return await self.play(speech) or await self.wait(timeout_s)

    async def ask(self, speech: FlowSpeech, max_digits: int, timeout_s: float) -> str:
        """Digits typed after ``speech`` (``#`` ends them early); "" when none came.

        A digit typed ahead is the entry's first; other keys typed ahead are dropped.
        """
        first = ""
        while self.pending and not first:
            key, self.pending = self.pending[0], self.pending[1:]
            first = key if key.isdigit() else ""
        if first and max_digits == 1:
            return first
        left = max_digits - len(first)
        digits, timed_out = await self.call.ask(speech, left, timeout_s)
        if self._take_stray(not digits and not timed_out):
            digits, timed_out = await self.call.ask(speech, left, timeout_s)
        entry = first + digits
        self._stray_end_key = len(entry) == max_digits
        return entry

    def _take_stray(self, ended_by_end_key: bool) -> bool:
        """Whether the command that just returned got the stray ``#`` (which it then eats)."""
        stray, self._stray_end_key = self._stray_end_key, False
        return stray and ended_by_end_key
