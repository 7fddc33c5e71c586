"""SSLCommerz hosted checkout (v4): session, validation, transaction query, IPN, refunds."""
