"""The JSON API (FastAPI): thin routes over services/, access control in deps.py."""
