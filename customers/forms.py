"""Input validation for the customer pages. The services decide the rules (names, lengths, what may be
assigned); these forms check the shape of the input, and `add_domain_error` puts a service's refusal
next to the field it names."""

from django import forms
from django.contrib.auth import get_user_model

from adoption.choices import LicenseLevel
from adoption.models import Outcome, Release
from config.errors import DomainError
from customers.models import Role
from customers.services import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH

# Service field names (as GraphQL spells them) -> form field names.
DOMAIN_FIELDS = {
    "name": "name",
    "description": "description",
    "userIds": "assignees",
    "productId": "product",
    "licenseLevel": "license_level",
    "selectedOutcomeIds": "outcomes",
    "selectedReleaseIds": "releases",
}


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal under the field it names (or above the form when it names none)."""
    field = DOMAIN_FIELDS.get(error.field or "")
    message = error.message[:1].upper() + error.message[1:]
    if field in form.fields:
        form.add_error(field, message)
        widget = form.fields[field].widget
        if "is-invalid" not in widget.attrs.get("class", ""):
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
    else:
        form.add_error(None, message)


def _style(form: forms.Form) -> None:
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")
        if form.is_bound and name in form.errors:
            widget.attrs["class"] += " is-invalid"


class AssigneeField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        role = getattr(getattr(user, "profile", None), "role", "")
        role_text = "CSM" if role == Role.CSM else "viewer"
        return f"{user.get_full_name() or user.get_username()} ({role_text})"


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH, label="Name")
    description = forms.CharField(
        required=False,
        max_length=DESCRIPTION_MAX_LENGTH,
        label="Description",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the customer wants to achieve, who sponsors it. Optional.",
    )
    assignees = AssigneeField(
        queryset=get_user_model().objects.none(),
        required=False,
        label="Assigned people",
        widget=forms.CheckboxSelectMultiple,
        help_text="CSMs work on the customer's plans; viewers may only read them.",
    )

    def __init__(self, *args, with_assignees: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if with_assignees:
            self.fields["assignees"].queryset = (
                get_user_model()
                .objects.filter(is_active=True, profile__role__in=[Role.CSM, Role.VIEWER])
                .select_related("profile")
                .order_by("first_name", "last_name", "username")
            )
        else:
            del self.fields["assignees"]
        _style(self)


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, product):
        return product.name


class NamedChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, item):
        return item.name


class EntitlementFields(forms.Form):
    """License level, outcomes and releases, as the assign and entitlements dialogs both ask them
    (none ticked = all); `offer_choices_of` limits the choices to one product's active ones."""

    # No default: the license is what the customer bought, so the CSM picks it on purpose.
    license_level = forms.TypedChoiceField(
        choices=LicenseLevel.choices,
        coerce=int,
        label="License level",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the license level the customer bought."},
    )
    outcomes = NamedChoiceField(
        queryset=Outcome.objects.none(), required=False, label="Outcomes", widget=forms.CheckboxSelectMultiple
    )
    releases = NamedChoiceField(
        queryset=Release.objects.none(), required=False, label="Releases", widget=forms.CheckboxSelectMultiple
    )

    def offer_choices_of(self, product) -> None:
        self.fields["outcomes"].queryset = Outcome.objects.active().filter(product=product).order_by("name", "pk")
        self.fields["releases"].queryset = Release.objects.active().filter(product=product).order_by("level", "pk")


class AssignProductForm(EntitlementFields):
    """Product, license level, then that product's outcomes and releases (none ticked = all)."""

    product = ProductChoiceField(queryset=None, label="Product", empty_label="Choose a product…")
    field_order = ["product", "license_level", "outcomes", "releases"]

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        product = self.chosen_product()
        if product is not None:
            self.offer_choices_of(product)
        _style(self)

    def chosen_product(self):
        """The product picked so far (bound data or initial), if it is one the user may assign."""
        value = self.data.get(self.add_prefix("product")) if self.is_bound else self.initial.get("product")
        if value in (None, ""):
            return None
        value = getattr(value, "pk", value)
        try:
            return self.fields["product"].queryset.filter(pk=int(value)).first()
        except (TypeError, ValueError):
            return None


class EntitlementsForm(EntitlementFields):
    """An assignment's entitlements: license level and its product's active outcomes and releases
    (none ticked = all). The view passes only what the user changed on to the service."""

    def __init__(self, *args, product, **kwargs):
        super().__init__(*args, **kwargs)
        self.offer_choices_of(product)
        _style(self)
