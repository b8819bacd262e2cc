"""The supervisor console: transcript review, records and audit (``assistant serve console``)."""
