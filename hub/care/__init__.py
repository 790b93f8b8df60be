"""Customer care: the complaints register and satisfaction surveys (docs/complaints.md,
docs/surveys.md). Pure parsing and texts live here; state changes are hub services
(:mod:`hub.services.complaints`, :mod:`hub.services.surveys`)."""
