"""Users: end users named by the application's ``identity``, and console members/admins."""
