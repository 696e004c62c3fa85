import { normalizePhone } from '../../../../common/destination';
import { jsonField, peerUrl, post } from '../http-request';
import { CallProvider, OutboundMessage, SendResult } from '../message-provider';

/**
 * Voice calls through a Twilio/Restcomm-compatible Calls API: `POST {base}/Accounts/{sid}/Calls.json`,
 * form-encoded, with the TwiML inline so no webhook has to be reachable from the provider.
 * Errors never include the TwiML: it holds the code.
 */
export class TwimlCallProvider extends CallProvider {
  readonly name = 'twiml';
  private readonly callsUrl: string;
  private readonly authorization: string;
  private readonly timeoutMs: number;

  constructor(apiUrl: string, accountSid: string, authToken: string, options: { timeoutMs?: number } = {}) {
    super();
    this.callsUrl = `${apiUrl.replace(/\/+$/, '')}/Accounts/${encodeURIComponent(accountSid)}/Calls.json`;
    const parsed = peerUrl(this.callsUrl, 'Calls API');
    // The account sid and token are the credentials; others in the URL would be ambiguous.
    if (parsed.username || parsed.password) throw new Error('Calls API URL must not carry credentials');
    this.authorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`, 'utf8').toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const body = new URLSearchParams({ From: e164(message.from), To: e164(message.to), Twiml: buildTwiml(message) });
    const headers = { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const answer = await post(this.callsUrl, headers, body.toString(), 'Calls API', this.timeoutMs);
    if (!answer.ok) {
      // Only the numeric error code of the answer (Twilio's `code`, e.g. 21211): its message may quote the request.
      const code = jsonField(answer.text, 'code');
      throw new Error(`HTTP ${answer.status} from Calls API${code !== undefined && /^\d+$/.test(code) ? ` (code ${code})` : ''}`);
    }
    const sid = jsonField(answer.text, 'sid');
    return sid === undefined ? {} : { providerMessageId: sid };
  }
}

/**
 * `<Response><Say voice language loop>text</Say></Response>` for a call message. The text already
 * has the code's digits spaced out; it is only escaped. A language given as `engine.lang`
 * (`awspolly.ja-JP`) keeps only the language tag.
 */
export function buildTwiml(message: Pick<OutboundMessage, 'text' | 'voice' | 'language' | 'repeat'>): string {
  const voice = (message.voice || 'man').toLowerCase();
  const requested = message.language || 'en';
  const language = requested.slice(requested.indexOf('.') + 1);
  // `loop="0"` means "forever" to Twilio: anything but a positive integer is read once.
  const repeat = message.repeat ?? 1;
  const loop = Number.isInteger(repeat) && repeat > 0 ? repeat : 1;
  return `<Response><Say voice="${escapeXml(voice)}" language="${escapeXml(language)}" loop="${loop}">${escapeXml(message.text)}</Say></Response>`;
}

function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[char] as string);
}

/** Destinations are stored as digits; a sender may be written `+1 (205) 555-0199`. */
function e164(number: string): string {
  return `+${normalizePhone(number) ?? number.replace(/^\+/, '')}`;
}
