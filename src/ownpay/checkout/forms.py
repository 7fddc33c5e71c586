"""The checkout's form bodies: the page kernel's bounded, strict form reader."""

from ownpay.web.pages.forms import MAX_FORM_BYTES, BadForm, read_form

__all__ = ["MAX_FORM_BYTES", "BadForm", "read_form"]
