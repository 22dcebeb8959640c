"""ClubCRM shared kernel: settings and the ``clubcrm`` command line."""

__version__ = "0.1.0"
