const response = await fetch(`${process.env.OWNPAY_BASE_URL}/api/v1/payment-intents`, {
  method: 'POST',
  headers: {
    'Authorization': `Bearer ${process.env.OWNPAY_API_KEY}`,
    'Content-Type': 'application/json',
  },
  body: JSON.stringify({
    gateway: 'stripe', amount: 99.99, currency: 'USD', order_id: 'ORDER-001',
    customer_name: 'Jane Smith', customer_email: 'jane@example.com',
    return_url: 'https://yoursite.com/success',
  }),
});
const { payment_url } = await response.json();
res.redirect(payment_url);
