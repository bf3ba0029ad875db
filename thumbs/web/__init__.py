"""The web console: a sub-application mounted at ``/console`` with its own sign-in (email and
password, a server-side session behind an HttpOnly cookie), CSRF protection on every form,
HTML error pages and server-rendered, autoescaped templates. No CDN, no build step."""
