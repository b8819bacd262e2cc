"""The scheduling backend: consults, encounters, checklists, over HTTP on SQLAlchemy."""
