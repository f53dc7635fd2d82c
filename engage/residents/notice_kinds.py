from __future__ import annotations

from enum import StrEnum


class NoticeKind(StrEnum):
    """The kinds of public notice; residents subscribe to them by kind and by community."""

    POSTS_AND_QUOTAS = "posts_and_quotas"
    NOMINATION_CALL = "nomination_call"
    PROCESS = "process"
    STAGE_RESULT = "stage_result"
    FINAL_RESULT = "final_result"
    APPOINTMENT = "appointment"
