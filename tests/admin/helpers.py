"""What a browser does with an admin page: addresses, and posting a form back as it was rendered."""

import json

from django.forms import CheckboxInput
from django.urls import reverse


def url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def management(*prefixes):
    """The inline formset management fields a browser posts along with a change form."""
    return {f"{prefix}-{key}": "0" for prefix in prefixes for key in ("TOTAL_FORMS", "INITIAL_FORMS")}


def staff(user):
    user.is_staff = True
    user.save()
    return user


def _form_data(form) -> dict:
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        key = form.add_prefix(name)
        if field.show_hidden_initial:  # fields with a callable default carry their initial value along
            data[form.add_initial_prefix(name)] = value if isinstance(value, str) else json.dumps(value)
        if isinstance(field.widget, CheckboxInput):
            if value:
                data[key] = "on"
        elif value is None:
            continue
        elif isinstance(value, list | tuple):
            # A browser can only post the options the page offers.
            offered = {str(choice) for choice, _ in field.choices} if hasattr(field, "choices") else None
            data[key] = [str(item) for item in value if offered is None or str(item) in offered]
        elif isinstance(value, dict):
            data[key] = json.dumps(value)
        else:
            data[key] = str(value)
    return data


def rendered_form(client, address) -> dict:
    """The POST data of the add/change page at `address` as rendered, inlines included: a test
    changes the few fields the user changes and posts the rest untouched."""
    page = client.get(address)
    assert page.status_code == 200, page.status_code
    data = _form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for form in formset.forms:
            data.update(_form_data(form))
    return data
