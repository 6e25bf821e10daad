"""Other formats in and out: each importer goes through the application's append path."""
