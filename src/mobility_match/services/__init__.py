"""What the service does, one module per part of the programme; no HTTP in here.

Every function takes a database session and the `Viewer` asking, and returns
rows or plain values; routes in `api/` only translate them to HTTP.
"""
