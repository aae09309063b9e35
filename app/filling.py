"""Saying that a view is being filled from the past (`projections.base.FILLING`).

A view added, or of a new version (its tables changed shape or its answers did), is rebuilt
by the projection runner when it starts (`ProjectionRunner.fill_empty_views`), beside the
running web: until the rebuild swaps its generation in, the web reads the view's new tables,
empty. Every page that read such a view shows a notice at its top (base.html:
`views_filling`) with how far the rebuild is and the time left; every answer, the API's
included, carries `X-Casework-View-Filling` (README, API). A rebuild of a view that holds its
answers (`casework rebuild`, a setting changed) is not told here: readers keep the old
answers until the swap; /status and /healthz show every rebuild (`rebuilding`).

What a request read is known from `projections.base.live_tables` (`reading_views`); the
rebuilds running from the few rows of `FILLING`, read once per request and only when it read
a view; a view counts as filled while its live generation holds fewer events than the
rebuild reads (its progress rows, as /healthz reads them).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify
from flask_babel import gettext

from app.command_path import errors_body
from app.context import DATABASE_ERRORS, services
from app.messages import text
from projections.base import Filling, fillings, progress, reading_views
from projections.catalog import PROJECTIONS

log = logging.getLogger("casework.web")

HEADER = "X-Casework-View-Filling"


def _start() -> None:
    g.views_read = reading_views()


def filling_now() -> list[Filling]:
    """The views this request read that are being filled, by name (once per request)."""
    if "views_filling" in g:
        return g.views_filling
    found: list[Filling] = []
    read = sorted(g.get("views_read") or ())
    if read:
        views = services().views
        try:
            running = fillings(views)
            for name in read:
                filling = running.get(name)
                if filling is not None and progress(views, PROJECTIONS[name])[0] < filling.total:
                    found.append(filling)
        except DATABASE_ERRORS as error:  # the page says what failed; this is not it
            log.warning("views being filled not known (%s)", type(error).__name__)
    g.views_filling = found
    return found


def progress_text(percent: int, left: int | None) -> str:
    """`45%, about 3 minutes left` (the minutes rounded up), or only the percentage before
    the rate is known (`left`: seconds, `Filling.seconds_left`)."""
    if left is None:
        return gettext("%(percent)d%%", percent=percent)
    if left < 60:
        return gettext("%(percent)d%%, less than a minute left", percent=percent)
    minutes = (left + 59) // 60
    if minutes == 1:
        return gettext("%(percent)d%%, about a minute left", percent=percent)
    return gettext(
        "%(percent)d%%, about %(minutes)d minutes left", percent=percent, minutes=minutes
    )


def notices() -> list[str]:
    """One sentence per view this page read that is being filled."""
    return [
        gettext(
            "The data on %(view)s are being computed again from every event (%(progress)s).",
            view=text(f"filling.{filling.name}"),
            progress=progress_text(filling.percent, filling.seconds_left),
        )
        for filling in filling_now()
    ]


def _helpers() -> dict[str, Any]:
    return {"views_filling": notices}


def _header(response: Response) -> Response:
    found = filling_now() if g.get("views_read") else []
    if found:
        if response.status_code == 404 and response.is_json:
            response = _not_yet(response, found)
        response.headers[HEADER] = ", ".join(_item(filling) for filling in found)
    return response


RETRY_SECONDS = (5, 300)  # the least and the most a 503 of a view being filled asks to wait


def _not_yet(response: Response, found: list[Filling]) -> Response:
    """An API's 404 from a view being filled is not an answer (the item may be among the
    events not applied yet): 503 `view.filling` on the same field, with `Retry-After` (the
    time left, within `RETRY_SECONDS`; 30 s before the rate is known)."""
    body = response.get_json(silent=True) or {}
    fields = list((body.get("codes") or {}).keys()) or ["body"]
    codes = {field: ["view.filling"] for field in fields}
    answer = jsonify(errors_body(codes))
    answer.status_code = 503
    lefts = [f.seconds_left for f in found if f.seconds_left is not None]
    wait = max(lefts) if lefts else 30
    answer.headers["Retry-After"] = str(min(max(wait, RETRY_SECONDS[0]), RETRY_SECONDS[1]))
    log.info("a 404 from views being filled answered 503 (%s)", ", ".join(f.name for f in found))
    return answer


def _item(filling: Filling) -> str:
    """`eligibility;percent=45;seconds-left=180` (a structured-field list member, RFC 8941)."""
    item = f"{filling.name};percent={filling.percent}"
    if filling.seconds_left is not None:
        item += f";seconds-left={filling.seconds_left}"
    return item


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.context_processor(_helpers)
    app.after_request(_header)
