"""Payment links (issue 14): a page the merchant shares, where customers pay without the
merchant having a website -- the API, the public page ``/pay/{slug}``, the CLI."""
