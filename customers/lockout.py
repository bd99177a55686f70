"""Sign-in throttling (django-axes): the lockout answer and the client address it is keyed by.

Axes counts failed sign-ins per username and address on every login form (the app's /login/ and the
admin's). Once the limit is reached, the next attempts are refused, even with the right password,
until the cool-off ends or an admin unlocks the account; this module answers them with the sign-in
page and the reason in words, instead of Axes' bare text page.
"""

from datetime import timedelta

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render


def duration_in_words(duration: timedelta) -> str:
    """'15 minutes', '1 hour', '2 hours 30 minutes': how long a lockout lasts, for people."""
    minutes = max(1, round(duration.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def lockout_message(request=None) -> str:
    cool_off = get_cool_off(request)
    if cool_off is None:
        return "Too many failed sign-ins for this account. Ask an admin to unlock it."
    return (
        f"Too many failed sign-ins for this account. Try again in {duration_in_words(cool_off)} "
        "or ask an admin to unlock it."
    )


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page again, with the lockout in words (429, Retry-After: the cool-off in seconds).

    Rendered for whichever login form was used; the form posts back to the same address.
    """
    username = get_client_username(request, credentials) or ""
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "lockout_message": lockout_message(request),
        "next": request.POST.get("next") or request.GET.get("next") or "",
    }
    response = render(request, "auth/login.html", context, status=429)
    cool_off = get_cool_off(request)
    if cool_off is not None:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


def client_ip(request) -> str:
    """The address a sign-in came from.

    Behind TRUSTED_PROXY_COUNT reverse proxies, each appending the address it saw to X-Forwarded-For,
    the client is that many entries from the right (entries further left can be forged by the client).
    With no proxies (the default) it is the peer address.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")
