"""Page routers, one module per part of the site (and common.py for everyone); `reasons.py`
holds words the pages share. web/app.py lists the routers (ROUTERS).
"""
