import { Logger, OnModuleDestroy } from '@nestjs/common';
import * as smpp from 'smpp';
import { normalizePhone } from '../../../../common/destination';
import { OutboundMessage, ReceiptListener, SendResult, SmsProvider } from '../message-provider';

const DEFAULT_PORT = 2775;
const ENQUIRE_LINK_EVERY_MS = 30_000;
const MAX_RECONNECT_DELAY_MS = 60_000;
const UNBIND_TIMEOUT_MS = 2_000;
/** esm_class bits 2–5 are the message type; 0001 there marks an SMSC delivery receipt. */
const MESSAGE_TYPE_MASK = 0x3c;
const GSM_ESCAPE = 0x1b;
/** Octets of short_message per part: one septet per octet for GSM, two per character for UCS-2. */
const GSM_SINGLE = 160;
const GSM_PART = 153;
const UCS2_SINGLE = 140;
const UCS2_PART = 134;
/** The receipt text's `stat:` names for the message_state TLV (SMPP 3.4 §5.2.28). */
const STATE_NAMES: Record<number, string> = { 1: 'ENROUTE', 2: 'DELIVRD', 3: 'EXPIRED', 4: 'DELETED', 5: 'UNDELIV', 6: 'ACCEPTD', 7: 'UNKNOWN', 8: 'REJECTD' };

export interface SmppProviderOptions {
  /** How long any SMSC answer (connect, bind, each submit_sm, enquire_link) may take. */
  submitTimeoutMs?: number;
  /** Delay before re-binding in the background after the session is lost; doubled per failure. */
  reconnectDelayMs?: number;
}

/** One TCP connection and the requests on it still waiting for an answer. */
interface Link {
  session: smpp.Session;
  waiting: Set<(error: Error) => void>;
  closed: boolean;
  keepAlive?: NodeJS.Timeout;
}

/**
 * SMS over SMPP 3.4 (`SMPP_URL`): one bind_transceiver session, bound on first use and re-bound
 * after a drop, carrying submit_sm out and delivery receipts (deliver_sm) back. A send resolves once
 * the SMSC has accepted every part and rejects on any error status, connection loss or silence;
 * the queue retries.
 */
export class SmppSmsProvider extends SmsProvider implements OnModuleDestroy {
  readonly name = 'smpp';
  private readonly logger = new Logger('SmppSmsProvider');
  private readonly host: string;
  private readonly port: number;
  private readonly systemId: string;
  private readonly password: string;
  private readonly timeoutMs: number;
  private readonly reconnectDelayMs: number;
  private link?: Link;
  private binding?: Promise<Link>;
  private reconnectTimer?: NodeJS.Timeout;
  private reconnectFailures = 0;
  private reference = Math.floor(Math.random() * 256);
  private destroyed = false;

  constructor(
    smppUrl: string,
    private readonly onReceipt: ReceiptListener,
    options: SmppProviderOptions = {},
  ) {
    super();
    const url = new URL(smppUrl);
    if (url.protocol !== 'smpp:') throw new Error(`SMPP_URL must start with smpp:// (got ${url.protocol})`);
    this.host = url.hostname;
    this.port = url.port ? Number(url.port) : DEFAULT_PORT;
    this.systemId = decodeURIComponent(url.username);
    this.password = decodeURIComponent(url.password);
    this.timeoutMs = options.submitTimeoutMs ?? 10_000;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 1_000;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const { dataCoding, parts } = encodeText(message.text);
    const link = await this.bound();
    const number = normalizePhone(message.from);
    const fields: smpp.PduFields = {
      source_addr_ton: number ? smpp.consts.TON.INTERNATIONAL : smpp.consts.TON.ALPHANUMERIC,
      source_addr_npi: number ? smpp.consts.NPI.ISDN : smpp.consts.NPI.UNKNOWN,
      source_addr: number ?? message.from,
      dest_addr_ton: smpp.consts.TON.INTERNATIONAL,
      dest_addr_npi: smpp.consts.NPI.ISDN,
      destination_addr: message.to,
      registered_delivery: smpp.consts.REGISTERED_DELIVERY.FINAL,
      data_coding: dataCoding,
    };
    const reference = (this.reference = (this.reference + 1) & 0xff);
    let messageId = '';
    // Parts go one after the other so that a refusal stops the rest. Each part gets its own id and
    // receipt; we report the last part's id, so receipts for the earlier parts match nothing.
    for (const [index, part] of parts.entries()) {
      const shortMessage: smpp.MessageBody = parts.length === 1 ? part : { udh: Buffer.from([0x05, 0x00, 0x03, reference, parts.length, index + 1]), message: part };
      const answer = await this.request(link, new smpp.PDU('submit_sm', { ...fields, short_message: shortMessage }));
      const which = parts.length === 1 ? '' : ` to part ${index + 1} of ${parts.length}`;
      if (answer.command_status !== smpp.ESME_ROK) throw new Error(`SMSC answered ${describeStatus(answer.command_status)}${which}`);
      messageId = answer.message_id ?? '';
    }
    this.logger.debug(`${message.requestId} accepted by the SMSC as ${messageId} (${parts.length} part(s))`);
    return { providerMessageId: messageId || undefined };
  }

  async onModuleDestroy(): Promise<void> {
    this.destroyed = true;
    clearTimeout(this.reconnectTimer);
    // A bind in progress sees `destroyed` when it completes and closes its own session.
    await this.binding?.catch(() => undefined);
    const link = this.link;
    this.link = undefined;
    if (!link || link.closed) return;
    clearInterval(link.keepAlive);
    await this.request(link, new smpp.PDU('unbind'), UNBIND_TIMEOUT_MS).catch(() => undefined);
    if (!link.closed) await new Promise<void>((resolve) => link.session.destroy(resolve));
  }

  /** The bound session; binds if there is none, and shares a bind already in progress. */
  private bound(): Promise<Link> {
    if (this.destroyed) return Promise.reject(new Error('SMPP provider is shut down'));
    if (this.link) return Promise.resolve(this.link);
    this.binding ??= this.bind().finally(() => {
      this.binding = undefined;
    });
    return this.binding;
  }

  private async bind(): Promise<Link> {
    const link = await this.open();
    let answer: smpp.PDU;
    try {
      answer = await this.request(link, new smpp.PDU('bind_transceiver', { system_id: this.systemId, password: this.password, interface_version: 0x34 }));
    } catch (error) {
      link.session.destroy();
      throw error;
    }
    if (answer.command_status !== smpp.ESME_ROK) {
      link.session.destroy();
      throw new Error(`SMSC refused bind_transceiver as ${this.systemId}: ${describeStatus(answer.command_status)}`);
    }
    if (this.destroyed || link.closed) {
      link.session.destroy();
      throw new Error(this.destroyed ? 'SMPP provider is shut down' : `SMPP connection to ${this.where} closed after the bind`);
    }
    link.keepAlive = setInterval(() => this.enquireLink(link), ENQUIRE_LINK_EVERY_MS).unref();
    this.link = link;
    this.reconnectFailures = 0;
    this.logger.log(`bound to ${this.where} as ${this.systemId} (transceiver)`);
    return link;
  }

  /** Connects and wires the session's events; resolves once TCP is up. */
  private open(): Promise<Link> {
    return new Promise((resolve, reject) => {
      const session = smpp.connect({ host: this.host, port: this.port });
      // Small request/response PDUs: without this, Nagle and delayed ACKs add ~40 ms stalls.
      session.socket.setNoDelay(true);
      const link: Link = { session, waiting: new Set(), closed: false };
      // Settled once TCP is up or the attempt has failed; later errors and closes belong to `closed`.
      let settled = false;
      const fail = (reason: string) => {
        clearTimeout(timer);
        if (!settled) reject(new Error(`SMPP connection to ${this.where} ${reason}`));
        settled = true;
        session.destroy();
      };
      const timer = setTimeout(() => fail(`timed out after ${this.timeoutMs} ms`), this.timeoutMs);
      session.on('connect', () => {
        clearTimeout(timer);
        settled = true;
        resolve(link);
      });
      session.on('error', (error) => {
        if (settled) this.logger.warn(`SMPP connection to ${this.where} failed: ${error.message}`);
        fail(`failed: ${error.message}`);
      });
      session.on('close', () => {
        fail('closed');
        this.closed(link);
      });
      session.on('deliver_sm', (pdu) => this.onDeliver(session, pdu));
      session.on('enquire_link', (pdu) => session.send(pdu.response()));
      session.on('unbind', (pdu) => {
        this.logger.warn(`SMSC at ${this.where} unbound the session`);
        session.send(pdu.response());
        session.close();
      });
      // The library answers nothing by itself; an unknown PDU gets a generic_nack.
      session.on('unknown', (pdu) => session.send(pdu.response()));
    });
  }

  private closed(link: Link): void {
    link.closed = true;
    clearInterval(link.keepAlive);
    const error = new Error(`SMPP connection to ${this.where} closed before the SMSC answered`);
    for (const abort of [...link.waiting]) abort(error);
    if (link !== this.link) return;
    this.link = undefined;
    this.logger.warn(`SMPP session to ${this.where} lost; re-binding`);
    this.scheduleReconnect();
  }

  /**
   * Re-binds in the background after a lost session, so that receipts keep coming even when no
   * message is being sent. A send in the meantime binds at once (and this then finds it bound).
   */
  private scheduleReconnect(): void {
    if (this.destroyed || this.reconnectTimer) return;
    const delay = Math.min(this.reconnectDelayMs * 2 ** this.reconnectFailures, MAX_RECONNECT_DELAY_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.bound().catch((error: Error) => {
        this.reconnectFailures++;
        this.logger.warn(`re-binding to ${this.where} failed: ${error.message}`);
        this.scheduleReconnect();
      });
    }, delay).unref();
  }

  /** Sends a request and resolves with its response, whatever its status; rejects on silence or loss. */
  private request(link: Link, pdu: smpp.PDU, timeoutMs = this.timeoutMs): Promise<smpp.PDU> {
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        link.waiting.delete(abort);
      };
      const abort = (error: Error) => {
        settle();
        reject(error);
      };
      const timer = setTimeout(() => abort(new Error(`SMSC did not answer ${pdu.command} within ${timeoutMs} ms`)), timeoutMs);
      link.waiting.add(abort);
      const written =
        !link.closed &&
        link.session.send(pdu, (response) => {
          settle();
          resolve(response);
        });
      if (!written) abort(new Error(`SMPP connection to ${this.where} is closed`));
    });
  }

  /** Keeps NAT and the SMSC's idle timer happy, and finds a dead peer: no answer drops the session. */
  private enquireLink(link: Link): void {
    this.request(link, new smpp.PDU('enquire_link')).catch((error: Error) => {
      if (link.closed) return;
      this.logger.warn(`${error.message}; dropping the session`);
      link.session.destroy();
    });
  }

  private onDeliver(session: smpp.Session, pdu: smpp.PDU): void {
    session.send(pdu.response());
    // Anything but a receipt (an MO message, an intermediate notification) is acknowledged and dropped.
    if (((pdu.esm_class ?? 0) & MESSAGE_TYPE_MASK) !== smpp.consts.ESM_CLASS.MC_DELIVERY_RECEIPT) return;
    const receipt = readReceipt(pdu);
    if (!receipt) {
      // The receipt text repeats the start of the message, code included: never log it.
      this.logger.warn('ignored a delivery receipt without a message id or a state');
      return;
    }
    // ENROUTE is not a final state; the final receipt follows.
    if (receipt.stat === 'ENROUTE') return;
    const delivered = receipt.stat === 'DELIVRD';
    try {
      this.onReceipt({ providerMessageId: receipt.id, delivered, error: delivered ? undefined : receipt.err ? `${receipt.stat} err:${receipt.err}` : receipt.stat });
    } catch (error) {
      this.logger.error(`receipt listener failed for ${receipt.id}: ${(error as Error).message}`);
    }
  }

  private get where(): string {
    return `${this.host}:${this.port}`;
  }
}

/**
 * GSM 03.38 (data_coding 0) when every character is in the default alphabet or its extension
 * table, else UCS-2 (8), split into the octets of each part. The library encodes but neither splits
 * nor builds a UDH; a part never ends inside an escape sequence or a surrogate pair.
 */
function encodeText(text: string): { dataCoding: number; parts: Buffer[] } {
  const gsm = smpp.encodings.ASCII;
  if (gsm.match(text)) {
    const septets = gsm.encode(text);
    return { dataCoding: smpp.consts.ENCODING.SMSC_DEFAULT, parts: split(septets, GSM_SINGLE, GSM_PART, (end) => (septets[end - 1] === GSM_ESCAPE ? end - 1 : end)) };
  }
  const units = smpp.encodings.UCS2.encode(text);
  const highSurrogate = (end: number) => (units.readUInt16BE(end - 2) & 0xfc00) === 0xd800;
  return { dataCoding: smpp.consts.ENCODING.UCS2, parts: split(units, UCS2_SINGLE, UCS2_PART, (end) => (highSurrogate(end) ? end - 2 : end)) };
}

function split(bytes: Buffer, single: number, perPart: number, boundary: (end: number) => number): Buffer[] {
  if (bytes.length <= single) return [bytes];
  const parts: Buffer[] = [];
  for (let start = 0; start < bytes.length; ) {
    const end = start + perPart >= bytes.length ? bytes.length : boundary(start + perPart);
    parts.push(bytes.subarray(start, end));
    start = end;
  }
  // The UDH counts parts in one octet.
  if (parts.length > 255) throw new Error(`SMS text too long (${parts.length} parts)`);
  return parts;
}

/**
 * The receipt's message id, state and error code: from the receipted_message_id / message_state
 * TLVs when present, else from the SMPP 3.4 Appendix B text
 * (`id:… sub:… dlvrd:… submit date:… done date:… stat:DELIVRD err:000 text:…`).
 */
function readReceipt(pdu: smpp.PDU): { id: string; stat: string; err?: string } | undefined {
  const body = pdu.short_message?.message ?? pdu.message_payload?.message ?? '';
  const text = typeof body === 'string' ? body : body.toString('latin1');
  const field = (name: string) => new RegExp(`\\b${name}:(\\S+)`, 'i').exec(text)?.[1];
  const id = pdu.receipted_message_id || field('id');
  const stat = (pdu.message_state !== undefined ? STATE_NAMES[pdu.message_state] : undefined) ?? field('stat')?.toUpperCase();
  return id && stat ? { id, stat, err: field('err') } : undefined;
}

function describeStatus(status: number): string {
  const name = Object.entries(smpp.errors).find(([, code]) => code === status)?.[0] ?? 'unknown status';
  return `${name} (0x${status.toString(16).toUpperCase().padStart(2, '0')})`;
}
