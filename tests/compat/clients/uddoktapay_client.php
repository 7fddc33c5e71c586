<?php
// A client of UddoktaPay's API written the way its PHP library and WHMCS/WooCommerce
// plugins are (from their public code, in our own words): create a payment with
// checkout-v2, send the customer to payment_url, verify by invoice_id, refund, and accept an
// IPN only when its RT-UDDOKTAPAY-API-KEY header equals the configured key -- then verify
// it again through the API before believing it.  Used by tests/compat/test_bd_clients.py.
//
//   php uddoktapay_client.php create BASE_URL API_KEY WEBHOOK_URL REDIRECT_URL RETURN_TYPE
//   php uddoktapay_client.php verify BASE_URL API_KEY INVOICE_ID
//   php uddoktapay_client.php refund BASE_URL API_KEY TRANSACTION_ID AMOUNT
//   php -S 127.0.0.1:PORT uddoktapay_client.php   (the IPN receiver; env: UDDOKTAPAY_KEY,
//                                                 UDDOKTAPAY_BASE, UDDOKTAPAY_LOG)
declare(strict_types=1);

function uddoktapay_call(string $base, string $key, string $endpoint, array $payload): array
{
    // The library keeps everything up to "/api" of the base URL and appends the endpoint.
    $base = rtrim($base, '/');
    $at = strpos($base, '/api');
    $url = ($at === false ? $base . '/api' : substr($base, 0, $at + 4)) . '/' . $endpoint;
    $options = ['http' => [
        'method' => 'POST', 'ignore_errors' => true, 'timeout' => 20,
        'header' => "RT-UDDOKTAPAY-API-KEY: {$key}\r\naccept: application/json\r\n"
                    . "content-type: application/json\r\n",
        'content' => json_encode($payload, JSON_THROW_ON_ERROR),
    ]];
    $body = @file_get_contents($url, false, stream_context_create($options));
    $status = 0;
    foreach ($http_response_header ?? [] as $line) {
        if (preg_match('#^HTTP/\S+ (\d{3})#', $line, $m)) {
            $status = (int) $m[1];
        }
    }
    $decoded = is_string($body) ? json_decode($body, true) : null;
    return [$status, is_array($decoded) ? $decoded : []];
}

if (PHP_SAPI !== 'cli') {
    // The IPN: the header must equal our key (the library's only check), then re-verify.
    $key = trim((string) getenv('UDDOKTAPAY_KEY'));
    $header = $_SERVER['HTTP_RT_UDDOKTAPAY_API_KEY'] ?? null;
    $raw = trim((string) file_get_contents('php://input'));
    $entry = ['ok' => false];
    if ($header !== null && $header === $key && $raw !== '') {
        $data = json_decode($raw, true);
        [, $verified] = uddoktapay_call((string) getenv('UDDOKTAPAY_BASE'), $key,
                                        'verify-payment', ['invoice_id' => $data['invoice_id']]);
        $entry = ['ok' => ($verified['status'] ?? '') === 'COMPLETED',
                  'invoice_id' => $verified['invoice_id'] ?? null,
                  'amount' => $verified['amount'] ?? null,
                  'order' => $verified['metadata']['order_id'] ?? null,
                  'told' => $data['status'] ?? null];
    }
    file_put_contents((string) getenv('UDDOKTAPAY_LOG'), json_encode($entry) . "\n",
                      FILE_APPEND);
    http_response_code($entry['ok'] ? 200 : 401);
    echo $entry['ok'] ? 'OK' : 'Unauthorized Action.';
    return;
}

[$command, $base, $key] = [$argv[1] ?? '', $argv[2] ?? '', $argv[3] ?? ''];
switch ($command) {
    case 'create':
        [$status, $answer] = uddoktapay_call($base, $key, 'checkout-v2', [
            'full_name' => 'Karim Ahmed', 'email' => 'karim@example.com', 'amount' => '100',
            'metadata' => ['order_id' => 'WC-77', 'user_id' => 5],
            'redirect_url' => $argv[5], 'return_type' => $argv[6], 'cancel_url' => $argv[5],
            'webhook_url' => $argv[4],
        ]);
        if (!isset($answer['payment_url'])) {  // the library throws with the message
            fwrite(STDERR, "create failed ({$status}): " . ($answer['message'] ?? '?') . "\n");
            exit(1);
        }
        echo json_encode(['payment_url' => $answer['payment_url']]);
        break;
    case 'verify':
        [, $answer] = uddoktapay_call($base, $key, 'verify-payment', ['invoice_id' => $argv[4]]);
        echo json_encode($answer);
        break;
    case 'refund':
        [$status, $answer] = uddoktapay_call($base, $key, 'refund-payment', [
            'transaction_id' => $argv[4], 'payment_method' => 'sandbox', 'amount' => $argv[5],
            'product_name' => 'Hosting', 'reason' => 'customer asked',
        ]);
        echo json_encode(['http' => $status] + $answer);
        break;
    default:
        fwrite(STDERR, "usage: create|verify|refund\n");
        exit(2);
}
