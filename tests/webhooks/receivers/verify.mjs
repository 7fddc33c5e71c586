// OwnPay webhook receiver check for Node.js (18+): verifies X-OwnPay-Signature.
// The secret is the endpoint secret exactly as shown when the endpoint was created,
// "whsec_..." prefix included: it is used as the HMAC key as-is, not decoded.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * @param {string} secret           the endpoint secret ("whsec_...")
 * @param {string} timestamp        the X-OwnPay-Timestamp header
 * @param {string} signatureHeader  the X-OwnPay-Signature header
 * @param {Buffer} rawBody          the request body exactly as received, before JSON.parse
 * @returns {boolean}
 */
export function verifyOwnPaySignature(secret, timestamp, signatureHeader, rawBody, toleranceSeconds = 300) {
  // Reject stale or future timestamps: a captured request cannot be replayed later.
  if (!/^[0-9]+$/.test(timestamp ?? '')) return false;
  if (Math.abs(Math.floor(Date.now() / 1000) - Number(timestamp)) > toleranceSeconds) return false;

  const expected = Buffer.from(
    'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex'),
  );
  // During a secret rotation the header holds several signatures separated by spaces;
  // one match is enough. timingSafeEqual needs equal lengths, and the length is not secret.
  return (signatureHeader ?? '').split(' ').some((signature) => {
    const candidate = Buffer.from(signature);
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  });
}

// Command-line mode, used by OwnPay's own tests: exit 0 = valid, 1 = invalid, 2 = usage.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { OWNPAY_WEBHOOK_SECRET, OWNPAY_TIMESTAMP, OWNPAY_SIGNATURE, OWNPAY_BODY_FILE } = process.env;
  if (!OWNPAY_WEBHOOK_SECRET || !OWNPAY_BODY_FILE) {
    console.error('set OWNPAY_WEBHOOK_SECRET, OWNPAY_TIMESTAMP, OWNPAY_SIGNATURE, OWNPAY_BODY_FILE');
    process.exit(2);
  }
  const rawBody = readFileSync(OWNPAY_BODY_FILE);
  process.exit(verifyOwnPaySignature(OWNPAY_WEBHOOK_SECRET, OWNPAY_TIMESTAMP, OWNPAY_SIGNATURE, rawBody) ? 0 : 1);
}
