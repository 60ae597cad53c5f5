"""MULI: crisis support for revolving-door patients."""
