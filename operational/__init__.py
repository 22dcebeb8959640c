"""Operational layer: models, migrations, domain services, validation, importers."""
