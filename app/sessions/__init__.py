"""Sessions: interviews, their turns and scorecards in SQLite, with numbered migrations."""
