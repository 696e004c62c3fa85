import { jsonField, peerUrl, post } from '../http-request';
import { OutboundMessage, SendResult, SmsProvider } from '../message-provider';

/**
 * SMS through a generic HTTP gateway (`SMS_HTTP_URL`): POST `{"from","to","text","requestId"}` as
 * JSON; any 2xx means accepted. Credentials in the URL are taken out of it and sent as Basic auth.
 * Errors never include the text: it holds the code.
 */
export class HttpSmsProvider extends SmsProvider {
  readonly name = 'http';
  private readonly endpoint: string;
  private readonly authorization?: string;
  private readonly timeoutMs: number;

  constructor(url: string, options: { timeoutMs?: number } = {}) {
    super();
    const parsed = peerUrl(url, 'SMS endpoint');
    if (parsed.username || parsed.password) {
      const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
      this.authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
    }
    this.endpoint = parsed.toString();
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.authorization) headers.authorization = this.authorization;
    const body = JSON.stringify({ from: message.from, to: message.to, text: message.text, requestId: message.requestId });
    const answer = await post(this.endpoint, headers, body, 'SMS endpoint', this.timeoutMs);
    // The answer may echo the text, so it stays out of the error.
    if (!answer.ok) throw new Error(`HTTP ${answer.status} from SMS endpoint`);
    // The gateway has accepted the message: an unreadable answer must not turn into a retry (a second SMS).
    const id = jsonField(answer.text, 'id');
    return id === undefined ? {} : { providerMessageId: id };
  }
}
