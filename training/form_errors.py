"""A submitted form's errors as the page's error summary lists them (docs/accessibility.md).

Each message comes with the id of the element its link moves focus to: the field's input, or the
first radio of a radio group. Errors with no field to go to (a form-level error such as "Email or
password is incorrect", or one on a hidden field) are listed without a link.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wtforms import Field, FieldList, Form, FormField, HiddenField, RadioField


@dataclass(frozen=True)
class ErrorItem:
    message: str
    target: str = ""  # the id the summary links to; empty for an error with no field of its own


def error_items(*sources) -> list[ErrorItem]:
    """Every error of these forms, fields, items and messages, in order; None adds nothing.

    A form gives its form-level errors first, then its fields' errors in the order the form
    declares them (the order the page shows them), going into lists of subforms.
    """
    items: list[ErrorItem] = []
    for source in sources:
        items.extend(_items_of(source))
    return items


def link_target(field: Field) -> str:
    """The id of the element a summary link to this field moves focus to; empty for a hidden field."""
    if isinstance(field, HiddenField):
        return ""
    if isinstance(field, RadioField):
        return f"{field.id}-0"
    return field.id


def _items_of(source) -> list[ErrorItem]:
    if source is None:
        return []
    if isinstance(source, ErrorItem):
        return [source]
    if isinstance(source, str):
        return [ErrorItem(source)]
    if isinstance(source, Form):
        own = [ErrorItem(str(message)) for message in source.form_errors]
        return own + [item for field in source for item in _items_of(field)]
    if isinstance(source, FormField):
        return _items_of(source.form)
    if isinstance(source, FieldList):
        return [item for entry in source.entries for item in _items_of(entry)]
    if isinstance(source, Field):
        target = link_target(source)
        return [ErrorItem(str(message), target) for message in source.errors]
    if isinstance(source, Mapping):
        return error_items(*source.values())
    if isinstance(source, Iterable):
        return error_items(*source)
    raise TypeError(f"not a form, a field, an error item or a message: {source!r}")
