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

__all__ = ["Conversations", "LinkVisit", "Reply", "Sender", "UnknownInvitation",
           "UnknownParticipant", "Who"]
