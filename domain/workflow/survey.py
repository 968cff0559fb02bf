"""Satisfaction surveys (回访, PY 23): how a closed ticket's party was asked, written once.

The API's survey action, the write path, the demo and the analytics page take the channels
from here; the ``survey`` table (migration 0008) checks the same list. The results are
``domain.vocabulary.SATISFACTION``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SURVEY_CHANNEL_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {
        "phone": "电话回访",
        "sms": "短信回访",
        "app": "App 评价",
        "wechat": "微信回访",
        "visit": "上门回访",
        "other": "其他",
    }
)
SURVEY_CHANNELS: tuple[str, ...] = tuple(SURVEY_CHANNEL_NAMES_ZH)
# A survey without a channel was made by phone: the hotline's call-back is the usual way.
DEFAULT_SURVEY_CHANNEL = "phone"
# Longest comment a survey keeps (the table's CHECK and the API model say the same).
SURVEY_COMMENT_MAX = 2000


def survey_channel(channel: str | None) -> str:
    """The channel of a survey (the default when None); ValueError naming the allowed ones."""
    if channel is None:
        return DEFAULT_SURVEY_CHANNEL
    if channel not in SURVEY_CHANNELS:
        raise ValueError(f"must be one of {', '.join(SURVEY_CHANNELS)}")
    return channel
