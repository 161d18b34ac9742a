"""``/audio/{name}``: synthesized prompts for an Asterisk that runs on another host.

Asterisk's HTTP media cache (res_http_media_cache) downloads a file again at every play unless
the reply says how long to keep it. A name is the hash of what the file says, so a URL never
changes meaning: it is served as immutable for a year, with the hash as its ETag. Only names
the audio cache writes are served, which also rules out any path outside its directory.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse

from atende.speech.cache import is_audio_name

CACHE_CONTROL = "public, max-age=31536000, immutable"


def audio_router(directory: Path) -> APIRouter:
    """A router serving the audio cache in ``directory`` (see ``speech.cache_directory``)."""
    router = APIRouter(tags=["audio"])
    root = directory.resolve()

    @router.api_route(
        "/audio/{name}",
        methods=["GET", "HEAD"],
        response_class=FileResponse,
        include_in_schema=False,
    )
    def audio(name: str, request: Request) -> Response:
        path = root / name
        if not is_audio_name(name) or not path.is_file():
            raise HTTPException(status_code=404, detail="no such audio")
        etag = f'"{path.stem}"'
        headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
        if _matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return FileResponse(path, media_type="audio/wav", headers=headers)

    return router


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags
