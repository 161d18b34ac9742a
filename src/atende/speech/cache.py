"""Synthesized audio on disk, named by what it says, so that each text is rendered once.

A file's name is the SHA-256 of (engine, voice, text): the same prompt is never synthesized
twice, a changed voice or engine renders afresh, and the name is an immutable URL that
Asterisk's HTTP media cache may keep forever. Its full 64 hex digits also keep audio URLs
longer than Asterisk's cache path (bug #444, see the AGI transcript). With a chain of engines
the name is that of the engine that actually spoke: a text the first engine could not say
during an outage is said by the next one, and rendered by the first again once it is back.

Audio of a :class:`~atende.texts.PersonalText` (a caller's name) is different: anyone could
hash "Você é NAME?..." and ask the HTTP route whether that file exists, i.e. whether that person
called. Its name is an HMAC of the text under a key each cache draws at random and never
stores, so it cannot be computed from the words (another process renders the name once more:
a second of synthesis, once per process), and its words are not written beside it unless
``ATENDE_AUDIO_PERSONAL_TRANSCRIPTS`` asks for it (development: ``atende call`` shows them).

Files are written to a temporary name in the same directory and renamed: Asterisk, the HTTP
route and other atende processes see a whole file or none. Fixed prompts are rendered at
start-up (:meth:`AudioCache.prerender`); the rest (callers' names) are removed by
:meth:`AudioCache.cleanup` once unused for a while.

A call plays a dozen prompts, nearly all already on disk. A prompt this process found on disk
in the last ``FRESH_S`` seconds is handed to the call straight from memory on the event loop
(:meth:`AudioCache.aget`, :meth:`AudioCache.acompose`); only a miss goes to a worker thread,
where it would otherwise queue behind the database work of other calls. Cleanup only removes
files unplayed for days, so a file seen minutes ago is still there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from atende.config import Settings
from atende.private_paths import private_directory
from atende.speech.port import SAMPLE_RATE, SpeechChain, SpeechEngine
from atende.texts import PersonalText

log = logging.getLogger(__name__)

SUFFIX = ".wav"
SAMPLE_WIDTH = 2  # 16-bit
PAUSE_FRAMES = SAMPLE_RATE // 4  # 250 ms between groups of digits
TEXT_SUFFIX = ".txt"
TEMP_PREFIX = ".partial-"
STALE_TEMP_SECONDS = 3600
PRERENDER_THREADS = 4
FRESH_S = 600.0  # a file seen on disk this recently is played without asking the disk again
MAX_FRESH = 4096  # prompts and joined prompts remembered so (callers' names never are)
MAX_PCM_BYTES = 4 << 20  # samples of the parts of joined audio kept in memory (4 MiB)


def is_audio_name(name: str) -> bool:
    """True for names the cache writes (64 lowercase hex digits + ``.wav``), nothing else."""
    stem, dot, suffix = name.partition(".")
    return (
        bool(dot)
        and "." + suffix == SUFFIX
        and len(stem) == 64
        and all(ch in "0123456789abcdef" for ch in stem)
    )


def cache_directory(settings: Settings) -> Path:
    """``ATENDE_SOUNDS_DIR`` when set (the FastAGI host is the Asterisk host), else
    ``$ATENDE_DATA_DIR/audio``; always absolute, since Asterisk gets absolute paths."""
    directory = settings.sounds_dir or settings.data_dir / "audio"
    return directory.resolve()


@dataclass(frozen=True)
class AudioFile:
    """One synthesized text on disk."""

    path: Path

    @property
    def name(self) -> str:
        """The file name (hash and ``.wav``), as the HTTP route serves it."""
        return self.path.name

    @property
    def stream_name(self) -> str:
        """The absolute path without extension: what STREAM FILE and GET DATA take."""
        return str(self.path.with_suffix(""))

    @property
    def text_path(self) -> Path:
        """The text the audio says, kept beside it for the terminal softphone (never served;
        not written for personal texts, see the module's documentation)."""
        return self.path.with_suffix(TEXT_SUFFIX)

    def url(self, base_url: str) -> str:
        """The file's address under ``base_url`` (``ATENDE_AUDIO_BASE_URL``, the HTTP app's
        ``/audio`` path, e.g. ``http://ivr.example:8080/audio``)."""
        return f"{base_url.rstrip('/')}/{self.name}"


def audio_ref(audio: AudioFile, settings: Settings) -> str:
    """What the IVR passes to STREAM FILE: the URL when ``ATENDE_AUDIO_BASE_URL`` is set (Asterisk
    on another host fetches it over HTTP), else the local path without extension."""
    if settings.audio_base_url:
        return audio.url(settings.audio_base_url)
    return audio.stream_name


@dataclass
class _KeyLock:
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


class AudioCache:
    """Audio files for texts, synthesized by ``engine`` on first use."""

    def __init__(
        self,
        directory: Path,
        engine: SpeechEngine | SpeechChain,
        *,
        personal_transcripts: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory.resolve()
        self._clock = clock
        self._fresh: dict[tuple[str, ...], tuple[AudioFile, float]] = {}
        self._pcm: dict[str, bytes] = {}  # see _frames
        self.engine = engine
        self.personal_transcripts = personal_transcripts
        self._personal_key = secrets.token_bytes(32)
        self.chain = engine if isinstance(engine, SpeechChain) else SpeechChain([engine])
        self._guard = threading.Lock()
        self._locks: dict[str, _KeyLock] = {}
        self._pinned: set[str] = set()

    def key(self, text: str, engine: SpeechEngine | None = None) -> str:
        """The file name (without suffix) of ``text`` said by ``engine`` (default: the first)."""
        engine = engine or self.chain.engines[0]
        identity = json.dumps([engine.name, engine.voice, text], ensure_ascii=False).encode()
        if isinstance(text, PersonalText):
            return hmac.new(self._personal_key, identity, hashlib.sha256).hexdigest()
        return hashlib.sha256(identity).hexdigest()

    def get(self, text: str) -> AudioFile:
        """The audio for ``text``, synthesized now if no process has done it before.

        Threads asking for the same text at once wait for one synthesis. Raises SpeechError.
        """
        preferred = self._cached(text, self.chain.engines[0])
        if preferred is not None:
            return self._seen((text,), preferred)
        with self._key_lock(self.key(text)):
            audio = self.chain.speak(
                text,
                lambda engine: self._cached(text, engine),
                lambda engine, wav: self._store(text, engine, wav),
            )
        if audio.path.stem == self.key(text):  # the first engine's: no fallback to outlive
            self._seen((text,), audio)
        return audio

    def _seen(self, parts: tuple[str, ...], audio: AudioFile) -> AudioFile:
        """Remember that ``parts`` are on disk as ``audio`` now (not for personal texts)."""
        if not any(isinstance(part, PersonalText) for part in parts):
            with self._guard:
                if len(self._fresh) >= MAX_FRESH:
                    self._fresh.clear()
                self._fresh[parts] = (audio, self._clock())
        return audio

    def fresh(self, parts: Sequence[str]) -> AudioFile | None:
        """The audio of ``parts`` if this process saw it on disk in the last ``FRESH_S``
        seconds, from memory (no disk, no thread); else None."""
        key = tuple(parts)
        if any(isinstance(part, PersonalText) for part in key):
            return None
        seen = self._fresh.get(key)
        if seen is None or self._clock() - seen[1] >= FRESH_S:
            return None
        return seen[0]

    def _cached(self, text: str, engine: SpeechEngine) -> AudioFile | None:
        audio = AudioFile(self.directory / f"{self.key(text, engine)}{SUFFIX}")
        return audio if self._touch(audio.path) else None

    def _store(self, text: str, engine: SpeechEngine, wav: bytes) -> AudioFile:
        audio = AudioFile(self.directory / f"{self.key(text, engine)}{SUFFIX}")
        self._write_text(audio, [text])
        self._write(audio.path, wav)
        return audio

    def compose(self, parts: Sequence[str]) -> AudioFile:
        """One audio file saying ``parts`` one after another; an empty part is a short pause.

        Each part comes from the cache (digits and fixed sentences are prerendered), so a
        sentence with a new number in it, like a protocol read back, costs a file join instead
        of a synthesis. The joined file is cached like any other.
        """
        clips = [(self.fresh((part,)) or self.get(part)) if part else None for part in parts]
        identity = json.dumps(["compose", *(clip.path.stem if clip else "" for clip in clips)])
        audio = AudioFile(
            self.directory / f"{hashlib.sha256(identity.encode()).hexdigest()}{SUFFIX}"
        )
        pcm = bytearray()
        for clip in clips:
            pcm += self._frames(clip) if clip else bytes(PAUSE_FRAMES * SAMPLE_WIDTH)
        out = io.BytesIO()
        with wave.open(out, "wb") as joined:
            joined.setnchannels(1)
            joined.setsampwidth(SAMPLE_WIDTH)
            joined.setframerate(SAMPLE_RATE)
            joined.writeframes(bytes(pcm))
        data = out.getvalue()
        if not self._touch(audio.path, size=len(data)):
            # Not fsynced (most are heard once: a protocol read back): a file a power cut
            # left short has the wrong size, and is written again here.
            self._write_text(audio, parts)
            self._write(audio.path, data, durable=False)
        return self._seen(tuple(parts), audio)

    def _frames(self, clip: AudioFile) -> bytes:
        """The samples of ``clip``, a part of joined audio (digits, fixed sentences: the same
        few files in every protocol read back), kept in memory once read."""
        with self._guard:
            known = self._pcm.get(clip.path.stem)
        if known is not None:
            return known
        with wave.open(str(clip.path), "rb") as sound:
            frames = sound.readframes(sound.getnframes())
        with self._guard:
            if sum(map(len, self._pcm.values())) + len(frames) > MAX_PCM_BYTES:
                self._pcm.clear()
            self._pcm[clip.path.stem] = frames
        return frames

    async def aget(self, text: str) -> AudioFile:
        """:meth:`get` for the call flow's event loop: from memory when fresh, else in a
        worker thread."""
        known = self.fresh((text,))
        return known if known is not None else await asyncio.to_thread(self.get, text)

    async def acompose(self, parts: Sequence[str]) -> AudioFile:
        """:meth:`compose` for the call flow's event loop, like :meth:`aget`."""
        known = self.fresh(parts)
        return known if known is not None else await asyncio.to_thread(self.compose, parts)

    def prerender(self, texts: Iterable[str]) -> list[AudioFile]:
        """Render the fixed prompts before the first call; :meth:`cleanup` keeps them."""
        unique = list(dict.fromkeys(texts))
        with ThreadPoolExecutor(PRERENDER_THREADS, thread_name_prefix="prerender") as pool:
            files = list(pool.map(self.get, unique))
        with self._guard:
            self._pinned.update(audio.path.stem for audio in files)
        return files

    def cleanup(self, max_age_days: float) -> int:
        """Remove audio nobody played for ``max_age_days`` (names of past callers) and temporary
        files a crash left behind; prerendered prompts stay. Returns how many files went."""
        now = time.time()
        removed = 0
        for path in self.directory.glob("*"):
            try:
                age = now - path.stat().st_mtime
            except FileNotFoundError:
                continue
            if is_audio_name(path.name):
                expired = age > max_age_days * 86400 and path.stem not in self._pinned
            else:
                expired = path.name.startswith(TEMP_PREFIX) and age > STALE_TEMP_SECONDS
            if expired:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
                with contextlib.suppress(FileNotFoundError):
                    path.with_suffix(TEXT_SUFFIX).unlink()
        log.info("audio cache cleanup removed %d files", removed)
        return removed

    @contextlib.contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(key, _KeyLock())
            entry.users += 1
        try:
            with entry.lock:
                yield
        finally:
            with self._guard:
                entry.users -= 1
                if not entry.users:
                    del self._locks[key]

    def _write_text(self, audio: AudioFile, parts: Sequence[str]) -> None:
        """Keep the words beside the audio (for people, not fsynced), unless they hold a
        person's data."""
        personal = any(isinstance(part, PersonalText) for part in parts)
        if not personal or self.personal_transcripts:
            text = " ".join(p for p in parts if p).encode()
            self._write(audio.text_path, text, durable=False)

    @staticmethod
    def _touch(path: Path, size: int | None = None) -> bool:
        """Mark a hit (cleanup goes by modification time); False when there is no file, or
        not of ``size`` bytes when that is given."""
        try:
            if size is not None and path.stat().st_size != size:
                return False
            os.utime(path)
        except FileNotFoundError:
            return False
        return True

    def _write(self, path: Path, data: bytes, durable: bool = True) -> None:
        """Write ``path`` whole or not at all (a temporary file renamed); ``durable``: on
        disk before the rename (fsync)."""
        # Whatever the umask (the systemd unit's is 0027), Asterisk passes through to the files.
        private_directory(self.directory)
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=TEMP_PREFIX, suffix=SUFFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                if durable:
                    os.fsync(out.fileno())
            # mkstemp makes the file private; Asterisk runs as another user and must read it.
            os.chmod(temp, 0o644)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
