"""Storage: the case database (schema, migrations, engine), the evidence store and the audit log."""
