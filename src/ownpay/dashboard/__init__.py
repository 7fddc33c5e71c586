"""The operator dashboard at ``/admin``: users, sessions with 2FA, roles, pages, audit log."""
