import { jsonObject, peerUrl, post } from '../http-request';
import { OutboundMessage, SendResult, WhatsappProvider } from '../message-provider';

export interface CloudWhatsappOptions {
  /** `https://graph.facebook.com/v21.0`: the Graph API base, version included. */
  apiUrl: string;
  /** The sending number's id in WhatsApp Manager (not the number). */
  phoneNumberId: string;
  /** A system user's access token with `whatsapp_business_messaging`. */
  token: string;
  /** The approved authentication template (copy-code button) the code goes into. */
  template: string;
  timeoutMs?: number;
}

/**
 * WhatsApp through Meta's Business Cloud API (SPEC §10.7): `POST {api}/{phone number id}/messages`
 * with the authentication template, the code as its body parameter and as its copy-code button's
 * parameter. The send's `body` is not used: Meta only delivers pre-approved templates. The id of
 * the answer (`wamid....`) is what Meta's status callbacks name. Errors never include the request
 * or Meta's messages, which may quote it; only Meta's numeric error code.
 */
export class CloudWhatsappProvider extends WhatsappProvider {
  /** The name status callbacks are recorded under (DeliveryReceipts), and the SDR's `provider`. */
  static readonly NAME = 'whatsapp';
  readonly name = CloudWhatsappProvider.NAME;
  private readonly messagesUrl: string;
  private readonly authorization: string;
  private readonly template: string;
  private readonly timeoutMs: number;

  constructor(options: CloudWhatsappOptions) {
    super();
    this.messagesUrl = `${options.apiUrl.replace(/\/+$/, '')}/${encodeURIComponent(options.phoneNumberId)}/messages`;
    const parsed = peerUrl(this.messagesUrl, 'WhatsApp API');
    if (parsed.username || parsed.password) throw new Error('WhatsApp API URL must not carry credentials');
    this.authorization = `Bearer ${options.token}`;
    this.template = options.template;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const headers = { authorization: this.authorization, 'content-type': 'application/json', accept: 'application/json' };
    const body = JSON.stringify(templateMessage(this.template, message));
    const answer = await post(this.messagesUrl, headers, body, 'WhatsApp Cloud API', this.timeoutMs);
    if (!answer.ok) {
      const code = graphErrorCode(answer.text);
      throw new Error(`HTTP ${answer.status} from WhatsApp Cloud API${code === undefined ? '' : ` (code ${code})`}`);
    }
    // Accepted: an answer without an id must not turn into a retry (a second message).
    const id = messageId(answer.text);
    return id === undefined ? {} : { providerMessageId: id };
  }
}

/** The authentication template message of SPEC §10.7 for one code. */
export function templateMessage(template: string, message: Pick<OutboundMessage, 'to' | 'code' | 'language'>): object {
  const code = [{ type: 'text', text: message.code }];
  return {
    messaging_product: 'whatsapp',
    to: message.to,
    type: 'template',
    template: {
      name: template,
      language: { code: templateLanguage(message.language) },
      components: [
        { type: 'body', parameters: code },
        { type: 'button', sub_type: 'url', index: '0', parameters: code },
      ],
    },
  };
}

/**
 * Meta's spelling of a template language: `en`, `en_US`, `pt_BR`. A send's language may be
 * written the BCP 47 way (`en-us`) or carry a TTS engine (`awspolly.en-US`, for calls): the
 * engine is dropped, the separator becomes `_`, the region upper case.
 */
export function templateLanguage(language: string | undefined): string {
  const requested = language || 'en';
  const [base, ...rest] = requested.slice(requested.indexOf('.') + 1).split(/[-_]/);
  return [base.toLowerCase(), ...rest.map((part) => (part.length === 2 ? part.toUpperCase() : part))].join('_');
}

/** `messages[0].id` of the answer. */
function messageId(text: string): string | undefined {
  const id = (jsonObject(text) as { messages?: { id?: unknown }[] } | undefined)?.messages?.[0]?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** `error.code` of a Graph API error answer (`131026`: the number is not on WhatsApp), when numeric. */
function graphErrorCode(text: string): number | undefined {
  const code = (jsonObject(text) as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'number' && Number.isInteger(code) ? code : undefined;
}
