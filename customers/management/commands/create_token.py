"""`python manage.py create_token <username> [--name NAME]`: a new personal access token for GraphQL.

The token is shown once, alone on the last line, so scripts can take it with `tail -n 1`;
only its SHA-256 digest is stored.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config.audit.services import audit_record
from customers.models import PersonalAccessToken
from customers.tokens import generate_token


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
        raw, prefix, digest = generate_token()
        token = PersonalAccessToken.objects.create(user=user, name=name[:100], prefix=prefix, token_hash=digest)
        audit_record(
            actor="system",
            action="token.create",
            obj=token,
            summary=f"personal access token {prefix}… for {username}",
            details={"user": username, "name": name},
        )
        self.stdout.write(f"Personal access token for {username} (shown once; only its digest is stored):")
        self.stdout.write(raw)
