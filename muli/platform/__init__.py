"""What every room stands on: the unit of work, errors, paging, SQLite, logs, backup, encryption."""
