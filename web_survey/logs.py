"""Keep survey links out of every log: a link opens someone's answers to whoever has it.

Werkzeug's request log (the demo, ``flask run``), gunicorn's access log (off unless
someone turns it on) and Flask's "Exception on /s/... [POST]" would each write the
link's token; this filter writes ``/s/…`` instead.
"""

from __future__ import annotations

import logging
import re

SURVEY_LINK = re.compile(r"(/s/)[^\s\"'?#/]+")
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


class RedactSurveyLinks(logging.Filter):
    """Rewrites a record whose message holds a survey link; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: the handler reports it
            return True
        redacted = SURVEY_LINK.sub(r"\1…", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = RedactSurveyLinks()


def redact_survey_links(*loggers: logging.Logger) -> None:
    """Put the filter on ``loggers`` (once each) and on the web servers' request loggers."""
    for logger in (*loggers, *map(logging.getLogger, REQUEST_LOGGERS)):
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
