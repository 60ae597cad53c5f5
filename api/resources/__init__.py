"""One module per resource, each with a `blp` flask-smorest Blueprint; registered in order."""
