"""Bulk imports of CSV and Excel files (``clubcrm import …`` and the upload pages).

``tabular`` reads the files (encodings, header aliases, careful numbers) and writes the report of
problems; each importer (``members``; ``purchases`` in issue 4) checks and stores rows through the
services, so an imported row obeys the same rules as one typed at the desk.
"""
