"""A brand's own domains (issue 14): proof of ownership by DNS, the worker's re-checks,
routing by ``Host`` and the public URLs that use a brand's primary domain."""
