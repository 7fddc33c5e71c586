"""PayPal Orders v2 (create → approve → capture) through the official paypal-server-sdk."""
