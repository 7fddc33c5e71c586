<?php
// Test harness only: the spec's example runs unchanged; at exit we report what it got.
register_shutdown_function(function () {
    fwrite(STDOUT, json_encode(['payment_url' => $GLOBALS['result']['payment_url'] ?? null,
                                 'result' => $GLOBALS['result'] ?? null]));
});
