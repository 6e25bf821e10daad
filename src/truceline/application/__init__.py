"""The application: the eventsourcing Application that owns the log, and the stores."""
