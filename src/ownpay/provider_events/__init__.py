"""Inbound provider webhooks (Stripe, …): verify the signature → record the provider event
once → act by re-fetching the provider's object (STYLE.md habit 7)."""
