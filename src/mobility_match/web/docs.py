"""The API's documentation, served with no internet access.

FastAPI's own /docs page loads Swagger UI from a CDN and initialises it with an
inline script; here Swagger UI's files come from the `swagger-ui-bundle-v2` package
(pinned, from PyPI) and the start-up script is a file of ours, so that the page
works offline and under the same Content-Security-Policy as every other page.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mobility_match — API</title>
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


@router.get("/docs")
def api_documentation() -> HTMLResponse:
    """Swagger UI over /openapi.json, from files served by the application."""
    return HTMLResponse(_PAGE)
