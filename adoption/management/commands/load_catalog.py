"""python manage.py load_catalog FILE [--dry-run] [--prune]

Validates the whole file first and reports every error with its location; loads nothing when
there is any. Otherwise upserts the catalog by name in one transaction and prints a summary.
"""

from django.core.management.base import BaseCommand, CommandError

from adoption.catalog_io import CatalogFileError, CatalogValidationError, catalog_load_file


class Command(BaseCommand):
    help = "Load (upsert by name) a catalog from a YAML or JSON file; nothing is loaded if the file has errors."

    def add_arguments(self, parser):
        parser.add_argument("file", help="catalog file: .yaml, .yml or .json")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and report what would change; save nothing"
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="deactivate (soft-delete) active products, outcomes, releases, tasks and attributes "
            "the file does not list",
        )

    def handle(self, *args, file, dry_run=False, prune=False, **options):
        try:
            summary = catalog_load_file(file, prune=prune, dry_run=dry_run)
        except CatalogFileError as exc:
            raise CommandError(f"{exc}; nothing was loaded") from None
        except CatalogValidationError as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{file}: {len(exc.errors)} error(s); nothing was loaded") from None

        if dry_run:
            self.stdout.write(f"Dry run of {file}: the file is valid; loading it would do this (nothing was saved):")
        else:
            self.stdout.write(f"Loaded {file}:")
        for line in summary.lines():
            self.stdout.write(line)
