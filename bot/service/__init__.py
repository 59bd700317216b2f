"""The service layer: every use case a channel, the staff area or the command line runs.

Each use case is one transaction over the engine, storage and content. Adapters and
the composition root import from here; nothing here imports an adapter or Flask.
"""

from .conversations import (
    Conversations,
    LinkVisit,
    Reply,
    Sender,
    UnknownInvitation,
    UnknownParticipant,
    Who,
)
from .recordings import (
    Audio,
    Listening,
    RecordingRefused,
    check_upload,
    from_provider,
    recording_event,
)

__all__ = ["Audio", "Conversations", "LinkVisit", "Listening", "RecordingRefused", "Reply",
           "Sender", "UnknownInvitation", "UnknownParticipant", "Who", "check_upload",
           "from_provider", "recording_event"]
