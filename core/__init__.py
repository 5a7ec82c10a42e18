"""What every feature stands on: database, settings, clock, errors, auth, privacy."""
