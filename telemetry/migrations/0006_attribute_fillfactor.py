# Customer telemetry attribute rows are rewritten by every evaluation (isMet, lastCheckedAt, lastSeenAt):
# a 5,000-value batch rewrites 5,000 of them in one statement. On a full page a row's new version goes
# to another page and every index of the table (six) gets a new entry for it. With 30% of each page
# kept free (PostgreSQL's fillfactor), new versions fit beside the old ones (a heap-only update: none of
# those columns is indexed): about two in five from the first rewrite, all of them once the rows that
# did not fit have moved to pages with room, after a few rewrites (old versions are pruned as pages
# are read, unless a transaction older than them, in any database of the server, is still running). Half of each page kept free would
# do it at once but doubles the table, which every read of many attribute rows pays for (the admin's
# broad searches). PostgreSQL only; existing pages follow as rows are rewritten (VACUUM FULL on the
# table applies it at once).
from django.db import migrations

from config.search import SetFillfactor


class Migration(migrations.Migration):
    dependencies = [
        ("telemetry", "0005_admin_filter_indexes"),
    ]

    operations = [SetFillfactor(model_name="customertelemetryattribute", fillfactor=70)]
