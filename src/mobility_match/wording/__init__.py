"""Words every layer uses: the compiled gettext catalogues and the tables of words kept
beside them (the reasons a student is left unplaced). The pages and the services (mail)
both import from here; nothing here imports the web layer or the services.

Each module here that marks messages is an area of its own (its name), extracted by
scripts/messages.py like the page modules.
"""
