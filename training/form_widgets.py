"""Form HTML written with f-strings: the same markup as WTForms' widgets and labels, several times faster.

WTForms writes every attribute with `Markup.format` (`html_params`), which was most of a form field's cost: about
80 microseconds a field, so the people list's filter (five fields, on every visit) took 0.4 ms. These write
exactly what WTForms writes (tests/unit/test_form_widgets.py compares them); the fields and their validation are
WTForms' own.
"""

from markupsafe import Markup, escape
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import Select, TextInput
from wtforms.widgets.core import clean_key


def html_params(**attributes) -> Markup:
    """WTForms' `html_params`: the attributes sorted by name, `class_` as `class`, `data_`/`aria_` with hyphens,
    True as the bare name, False left out, every name and value escaped."""
    written = []
    for key, value in sorted(attributes.items()):
        if value is False:
            continue
        name = escape(clean_key(key))
        written.append(name if value is True else f'{name}="{escape(value)}"')
    return Markup(" ".join(written))  # noqa: S704 - every part escaped


def label_html(field) -> Markup:
    """The field's label, as `field.label()` writes it."""
    label = field.label
    return Markup(f'<label for="{escape(label.field_id)}">{escape(label.text)}</label>')  # noqa: S704 - escaped


class QuickTextInput(TextInput):
    """WTForms' text input, its attributes written by `html_params` above."""

    html_params = staticmethod(html_params)


class QuickSelect(Select):
    """WTForms' select, each plain option written with one f-string: the same HTML, several times faster.

    The people filter lists every department, required item and status on each visit of the people list.
    WTForms' own `Select.__call__` turns every choice into two objects (`SelectChoice`, then `Choice`), reads the
    signature of `render_option` and every flag's name on each call; for choices that are plain (value, label)
    pairs, without option groups or attributes of their own, this one writes them as they are.
    """

    def __call__(self, field, **kwargs):
        options = _plain_options(field.choices)
        if options is None:
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        for flag in self.validation_attrs:
            value = getattr(field.flags, flag, None)
            if value and flag not in kwargs:
                kwargs[flag] = value
        written = "".join(_option(value, label, field.coerce(value) == field.data) for value, label in options)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{written}</select>")  # noqa: S704 - escaped


def _plain_options(choices) -> list[tuple] | None:
    """The (value, label) of each choice, or None when a choice is not a plain pair (a group, attributes)."""
    if not isinstance(choices, list | tuple):
        return None
    options = []
    for choice in choices:
        if isinstance(choice, SelectChoice) and choice.optgroup is None and not choice.render_kw:
            options.append((choice.value, choice.label))
        elif isinstance(choice, tuple) and len(choice) == 2:
            options.append(choice)
        else:
            return None
    return options


def _option(value, label, selected: bool) -> Markup:
    """One <option>, as WTForms' `Select.render_option` writes it."""
    chosen = " selected" if selected else ""
    return Markup(f'<option{chosen} value="{escape(value)}">{escape(label or value)}</option>')  # noqa: S704 - escaped
