"""``GET /``: the browser interview page, shipped in the package (``static/``).

Plain HTML, CSS and JavaScript, no build step and nothing loaded from elsewhere (the
Content-Security-Policy allows this origin only). The page decides nothing: it calls
the JSON API with the nurse's bearer token and shows what the API answers.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
PAGE = "index.html"
ASSETS = ("interview.css", "interview.js")

# Same origin only: no outside scripts, styles, fonts or frames; the record download is a
# blob: URL made by the page.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _read(name: str) -> bytes:
    return (files("triage_dsl.service") / "static" / name).read_bytes()


def _response(name: str) -> Response:
    media_type = MEDIA_TYPES[name[name.rindex(".") :]]
    return Response(_read(name), media_type=media_type, headers=SECURITY_HEADERS)


router = APIRouter(include_in_schema=False)


@router.get("/")
def interview_page() -> Response:
    """The interview page."""
    return _response(PAGE)


@router.get("/static/{name}")
def interview_asset(name: str) -> Response:
    """The page's stylesheet and script (no other file of the package is served)."""
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail=f"no such file: {name}")
    return _response(name)
