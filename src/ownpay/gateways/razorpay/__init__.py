"""Razorpay: Orders + Checkout.js on our checkout page, refunds and webhooks."""
