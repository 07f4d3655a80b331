"""The quick widgets (training/form_widgets.py) write exactly the HTML of WTForms' own, only faster."""

import pytest
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import Select
from wtforms.widgets import html_params as wtforms_html_params

from training.form_widgets import QuickSelect, QuickTextInput, html_params, label_html

CHOICES = [
    SelectChoice("", "Any"),
    SelectChoice("3", 'Ward "A" <&>'),
    SelectChoice("x&y", ""),
    SelectChoice("z", "Marked", render_kw={"class": "odd"}),
]


class Filter(Form):
    pick = SelectField(choices=CHOICES, widget=QuickSelect(), validate_choice=False)


@pytest.mark.parametrize("chosen", ["", "3", "x&y", "z", "not offered"])
def test_each_option_is_written_as_wtforms_writes_it(chosen):
    field = Filter(MultiDict({"pick": chosen})).pick
    assert field() == Select()(field)
    assert field().count(" selected") == (chosen != "not offered")


class DepartmentFilter(Form):
    department = SelectField(
        coerce=lambda value: None if value in (None, "") else int(value), widget=QuickSelect(), validate_choice=False
    )


@pytest.mark.parametrize("chosen", ["", "3", "12", "7", "99"])
def test_plain_choices_are_written_as_wtforms_writes_them(chosen):
    """As the people filter sets them after building the form: (value, label) pairs and SelectChoice, coerced."""
    field = DepartmentFilter(MultiDict({"department": chosen})).department
    field.choices = [("", "All departments"), (3, 'Ward "A" <&>'), SelectChoice("12", ""), (7, "Pharmacy")]
    assert field() == Select()(field)
    assert field().count(" selected") == (chosen != "99")


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"name": "q", "id": "q", "value": 'Ward "A" <&>', "placeholder": "Name, email or ID"},
        {"class_": "wide", "data_search_target": "x", "aria_describedby": "q-hint q-error", "for_": "q"},
        {"required": True, "disabled": False, "maxlength": 120, "min": 0, "value": Markup("<b>kept</b>")},
        {"weird_": "'single' & \"double\"", "data_a_b": "", "aria_invalid": "true"},
    ],
)
def test_attributes_are_written_as_wtforms_writes_them(attributes):
    assert html_params(**attributes) == wtforms_html_params(**attributes)


LABEL = 'Name <or> "email"'


class Search(Form):
    q = StringField(LABEL, render_kw={"placeholder": "Name"}, widget=QuickTextInput())


class WTFormsSearch(Form):
    q = StringField(LABEL, render_kw={"placeholder": "Name"})


@pytest.mark.parametrize("typed", ["", "patel", '"><script>alert(1)</script>'])
def test_the_text_input_and_label_are_written_as_wtforms_writes_them(typed):
    field, wtforms_field = Search(MultiDict({"q": typed})).q, WTFormsSearch(MultiDict({"q": typed})).q
    assert field() == wtforms_field()
    described = {"aria_describedby": "q-hint", "aria_invalid": "true"}
    assert field(**described) == wtforms_field(**described)
    assert label_html(field) == wtforms_field.label()
    assert "<script>" not in field()
