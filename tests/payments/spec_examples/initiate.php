<?php
$apiKey = getenv('OWNPAY_API_KEY');
$baseUrl = getenv('OWNPAY_BASE_URL');
$payload = json_encode([
  'gateway' => 'stripe',
  'amount' => 99.99,
  'currency' => 'USD',
  'order_id' => 'ORDER-001',
  'customer_name' => 'Jane Smith',
  'customer_email' => 'jane@example.com',
  'return_url' => 'https://yoursite.com/success',
]);
$opts = ['http' => [
  'method' => 'POST',
  'header' => "Authorization: Bearer {$apiKey}\r\nContent-Type: application/json\r\n",
  'content' => $payload,
]];
$context = stream_context_create($opts);
$response = file_get_contents("{$baseUrl}/api/v1/payment-intents", false, $context);
$result = json_decode($response, true);
header("Location: {$result['payment_url']}");
exit;
