"""python manage.py dump_catalog [FILE]: the active catalog in the load_catalog format."""

from django.core.management.base import BaseCommand, CommandError

from adoption.catalog_file import CatalogFileError, render_catalog, write_catalog_file
from adoption.catalog_io import catalog_dump


class Command(BaseCommand):
    help = "Write the active catalog as YAML or JSON (by the file's extension); YAML to stdout without FILE."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="output file: .yaml, .yml or .json (default: YAML on stdout)")
        parser.add_argument("--format", choices=["yaml", "json"], default="yaml", help="format on stdout")

    def handle(self, *args, file=None, format="yaml", **options):
        data = catalog_dump()
        if not file:
            self.stdout.write(render_catalog(data, format), ending="")
            return
        try:
            write_catalog_file(data, file)
        except (CatalogFileError, OSError) as exc:
            raise CommandError(str(exc)) from None
        tasks = sum(len(p["tasks"]) for p in data["products"])
        self.stdout.write(f"Wrote {len(data['products'])} products and {tasks} tasks to {file}")
