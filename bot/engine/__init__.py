"""The pure survey engine. Standard library only: no framework may be imported here."""

from .flow import (
    CONSENT,
    FINISHED_STATUSES,
    RESTART,
    Choice,
    Event,
    Progress,
    Prompt,
    Recorded,
    Step,
    advance,
    begin,
    every_prompt,
)
from .model import (
    CHANNELS,
    DEFAULT_LANGUAGE,
    NOT_SURE_CODE,
    QUESTION_TYPES,
    RESPONDENT_TYPES,
    WAVES,
    WHO_ANSWERED,
    Option,
    Question,
    ShowIf,
    Survey,
    localise,
)
from .safeguarding import Safeguarding

__all__ = [
    "CHANNELS", "CONSENT", "DEFAULT_LANGUAGE", "FINISHED_STATUSES", "NOT_SURE_CODE",
    "QUESTION_TYPES", "RESPONDENT_TYPES", "RESTART", "WAVES", "WHO_ANSWERED", "Choice",
    "Event", "Option", "Progress", "Prompt", "Question", "Recorded", "Safeguarding", "ShowIf",
    "Step", "Survey", "advance", "begin", "every_prompt", "localise",
]
