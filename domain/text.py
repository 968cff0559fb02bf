"""Display text that is not a vocabulary: durations and the like, in Chinese."""

from __future__ import annotations


def duration_zh(seconds: int) -> str:
    """A duration in Chinese, two largest units: 2天3小时, 5小时12分, 8分 (minutes floor)."""
    minutes = max(0, seconds) // 60
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分" if mins else f"{hours}小时"
    return f"{mins}分"
