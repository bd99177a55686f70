"""Static files in production: hashed names (cached for ever by browsers and CDNs) and precompressed
copies, served by WhiteNoise.

Vendored minified files end with source-map comments (``sourceMappingURL=graphiql.min.css.map``) for
maps that are not shipped; Django's manifest storage would refuse the whole collectstatic for them.
Such references are left as they are (browsers only fetch maps with the developer tools open); any
other missing reference still fails loudly, so a broken url() in our own CSS is caught.

A page never fails because an asset is missing from the manifest (collectstatic not run yet, a
file added since): it links the asset by its plain name and the gap is logged as a warning.
"""

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger("config.storage")


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:
            logger.warning("static file %r is not in the manifest: run collectstatic", name)
            return name

    def url_converter(self, name, hashed_files, template=None):
        convert = super().url_converter(name, hashed_files, template)

        def converter(matchobj):
            try:
                return convert(matchobj)
            except ValueError:
                if matchobj.groupdict().get("url", "").split("?", 1)[0].endswith(".map"):
                    return matchobj.group(0)
                raise

        return converter
