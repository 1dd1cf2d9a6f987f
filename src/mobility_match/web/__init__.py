"""The web pages: server-rendered Jinja2 over the same service functions as the JSON API.

Pages are a thin layer like the API's routes: who is asking (web/deps.py), a
service call, a template. They work without JavaScript; `static/app.js` only
enhances them. Every POST carries a CSRF token (web/csrf.py), every response
the security headers of web/headers.py, every message a translation
(web/i18n.py, catalogues in `translations/`).
"""
