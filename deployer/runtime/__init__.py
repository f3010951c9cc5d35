"""The portable runtime: what user code imports on every cloud.

    from deployer.runtime import Response, stores

Standard library only at import time; a cloud SDK is imported when its store client is first used.
"""

from deployer.runtime.types import (  # noqa: F401
    BadJSON, Context, Headers, Message, ObjectEvent, Request, Response, ScheduleEvent,
)
from deployer.runtime.messages import MAX_MESSAGE_BYTES, MessageTooLarge  # noqa: F401,E402
from deployer.runtime import stores  # noqa: F401,E402

__all__ = ["BadJSON", "Context", "Headers", "MAX_MESSAGE_BYTES", "Message", "MessageTooLarge", "ObjectEvent",
           "Request", "Response", "ScheduleEvent", "stores"]
