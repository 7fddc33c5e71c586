"""Razorpay: Payment Links (hosted checkout), refunds and webhooks."""
