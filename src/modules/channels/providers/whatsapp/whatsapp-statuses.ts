import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../../../common/errors/app-error';
import { DeliveryReceipt } from '../message-provider';

/** Meta's status callbacks (SPEC §10.7) as pure rules: the signature, and the receipts a payload carries. */

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;
/** The longest message id otpgate stores (`providerMessageId`); Meta's `wamid.` ids are far shorter. */
const MAX_ID_LENGTH = 128;

/** `X-Hub-Signature-256: sha256=<hex>`: the HMAC-SHA256 of the raw body with the app secret, compared in constant time. */
export function validSignature(appSecret: string, rawBody: Buffer, header: string | undefined): boolean {
  const given = SIGNATURE.exec(header ?? '')?.[1];
  if (!given) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), createHmac('sha256', appSecret).update(rawBody).digest());
}

/** Two secrets compared in constant time, whatever their lengths (their digests are compared). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The receipts of a webhook payload (`{object: "whatsapp_business_account", entry: [{changes:
 * [{field: "messages", value: {statuses: [...]}}]}]}`): `delivered` and `read` are delivered,
 * `failed` undelivered with its error's title and code. Everything else a WhatsApp Business
 * Account sends (incoming messages, `sent` statuses, template updates) carries none and is
 * ignored, so that Meta does not retry it. Only a payload that is not a WhatsApp Business Account
 * webhook at all is refused (481 on `body`).
 */
export function receiptsOf(payload: unknown): DeliveryReceipt[] {
  if (!isObject(payload) || payload.object !== 'whatsapp_business_account' || !Array.isArray(payload.entry)) {
    throw AppError.invalid('body', 'must be a WhatsApp Business Account webhook: {"object": "whatsapp_business_account", "entry": [...]}');
  }
  const receipts: DeliveryReceipt[] = [];
  for (const entry of payload.entry) {
    if (!isObject(entry) || !Array.isArray(entry.changes)) continue;
    for (const change of entry.changes) {
      if (!isObject(change) || change.field !== 'messages' || !isObject(change.value) || !Array.isArray(change.value.statuses)) continue;
      for (const status of change.value.statuses) {
        const receipt = receiptOf(status);
        if (receipt) receipts.push(receipt);
      }
    }
  }
  return receipts;
}

function receiptOf(status: unknown): DeliveryReceipt | undefined {
  if (!isObject(status) || typeof status.id !== 'string' || status.id === '' || status.id.length > MAX_ID_LENGTH) return undefined;
  if (status.status === 'delivered' || status.status === 'read') return { providerMessageId: status.id, delivered: true };
  if (status.status === 'failed') return { providerMessageId: status.id, delivered: false, error: errorOf(status.errors) };
  return undefined;
}

/** `Message undeliverable (131026)`: the first error's title and code, as Meta reports them. */
function errorOf(errors: unknown): string {
  const first: unknown = Array.isArray(errors) ? errors[0] : undefined;
  if (!isObject(first)) return 'failed';
  const title = typeof first.title === 'string' && first.title.trim() ? first.title.trim() : 'failed';
  return typeof first.code === 'number' && Number.isInteger(first.code) ? `${title} (${first.code})` : title;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
