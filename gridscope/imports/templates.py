"""The xlsx templates of the onboarding files (``gridscope import template KIND``): written in
``domain.onboarding.templates``, from the columns the importers read, so that the admin pages'
download (/admin/templates/<kind>.xlsx) serves the very same file."""

from __future__ import annotations

from domain.onboarding.templates import (
    NOTES_SHEET,
    SHEET_NAMES,
    display_width,
    template_bytes,
    template_filename,
)

__all__ = ["NOTES_SHEET", "SHEET_NAMES", "display_width", "template_bytes", "template_filename"]
