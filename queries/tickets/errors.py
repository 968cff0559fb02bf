"""The write path's refusal: which field, what is wrong, which 4xx status."""

from __future__ import annotations

from domain.workflow.lifecycle import Refused


class TicketError(ValueError):
    """Refused input: names the field and the problem (maps to a 4xx, never a 500)."""

    def __init__(self, field_name: str, message: str, status: int = 422):
        super().__init__(f"{field_name}: {message}")
        self.field, self.message, self.status = field_name, message, status

    @classmethod
    def of(cls, refused: Refused) -> TicketError:
        """The write path's form of a refusal by the lifecycle rules (same field and status)."""
        return cls(refused.field, refused.message, refused.status)
