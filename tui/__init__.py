"""odbackup's user interfaces: the headless CLI (``cli.py``) and, later, the
Textual app. Only this package turns engine events into text."""
