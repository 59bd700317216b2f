"""The pure survey engine. Standard library only: no framework may be imported here."""

from .compose import messages, prompt_text, sms_segments
from .flow import (
    CONSENT,
    RESTART,
    UNHEARD,
    Choice,
    EntryOffer,
    Event,
    Progress,
    Prompt,
    Recorded,
    Standing,
    Step,
    advance,
    begin,
    every_prompt,
)
from .model import (
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
from .vocabulary import (
    FINISHED_STATUSES,
    OPEN_STATUSES,
    AnswerMode,
    AnswerStatus,
    Capabilities,
    EventKind,
    Need,
    ResponseStatus,
    Status,
    response_status,
)

__all__ = [
    "CONSENT", "DEFAULT_LANGUAGE", "FINISHED_STATUSES", "NOT_SURE_CODE", "OPEN_STATUSES",
    "QUESTION_TYPES", "RESPONDENT_TYPES", "RESTART", "UNHEARD", "WAVES", "WHO_ANSWERED",
    "AnswerMode", "AnswerStatus", "Capabilities", "Choice", "EntryOffer", "Event", "EventKind",
    "Need", "Option",
    "Progress", "Prompt", "Question", "Recorded", "ResponseStatus", "Safeguarding", "ShowIf",
    "Standing", "Status", "Step", "Survey", "advance", "begin", "every_prompt", "localise",
    "messages", "prompt_text", "response_status", "sms_segments",
]
