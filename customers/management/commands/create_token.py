"""`python manage.py create_token <username> [--name NAME]`: a new personal access token for GraphQL.

The token is shown once, alone on the last line, so scripts can take it with `tail -n 1`;
only its SHA-256 digest is stored. Issued through customers.services.personal_token_issue, so the
audit entry is the same as for a token issued in the admin.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config.errors import ValidationFailed
from customers.services import personal_token_issue


class Command(BaseCommand):
    help = "Create a personal access token for a user (Authorization: Bearer <token> on /graphql/)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, to recognise it later.")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive")
        try:
            _token, raw = personal_token_issue(actor="system", user=user, name=name)
        except ValidationFailed as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from None
        self.stdout.write(f"Personal access token for {username} (shown once; only its digest is stored):")
        self.stdout.write(raw)
