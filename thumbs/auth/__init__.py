"""Authentication (HTTP Basic, Twilio's convention) and the tenant scope of a request."""
