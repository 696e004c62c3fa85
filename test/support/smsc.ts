import { AddressInfo } from 'node:net';
import * as smpp from 'smpp';

/** The final states an SMPP 3.4 receipt text can carry in `stat:`. */
export type ReceiptStat = 'DELIVRD' | 'EXPIRED' | 'DELETED' | 'UNDELIV' | 'ACCEPTD' | 'UNKNOWN' | 'REJECTD';

/** One submit_sm the SMSC accepted, as it came over the wire: a concatenated SMS is one per part. */
export interface SmscSubmit {
  messageId: string;
  source: string;
  sourceTon: number;
  sourceNpi: number;
  destination: string;
  destinationTon: number;
  destinationNpi: number;
  esmClass: number;
  dataCoding: number;
  registeredDelivery: number;
  /** This part's text, decoded per data_coding (0 GSM 03.38, 8 UCS-2), without the UDH. */
  text: string;
  /** The UDH's concatenation element (8- or 16-bit reference), for a part of a longer SMS. */
  part?: { reference: number; total: number; index: number };
}

/** A whole SMS: the parts of a concatenated one put back together, in order. */
export interface SmscMessage {
  source: string;
  destination: string;
  text: string;
  /** One per part, in part order; the provider reports the last one. */
  messageIds: string[];
}

export interface TestSmscOptions {
  systemId?: string;
  password?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

/**
 * A real SMSC on 127.0.0.1 (the server side of npm smpp) for tests and benchmarks. It takes
 * bind_transceiver with its system_id/password only (else ESME_RBINDFAIL), keeps every submit_sm it
 * accepts in `submits` (one entry per part; `messages()` reassembles), and answers with its own
 * message ids. Knobs: `throttleNext`, `answerSubmits`, `autoReceipt`, `dropConnections()`.
 */
export class TestSmsc {
  readonly submits: SmscSubmit[] = [];
  /** Successful binds so far: 2 after one re-bind. */
  bindCount = 0;
  /** Answer the next N submit_sm with ESME_RTHROTTLED (not recorded in `submits`). */
  throttleNext = 0;
  throttled = 0;
  /** false: swallow submit_sm without answering, like a hung SMSC (still recorded, with an id). */
  answerSubmits = true;
  /** A slow SMSC: each submit_sm_resp is sent this long after the submit_sm arrived. */
  answerDelayMs = 0;
  /**
   * A state: send a receipt with it for every accepted part, right after the submit_sm_resp (a fast
   * SMSC: the receipt can reach the client before the code that called `send` has stored the id).
   */
  autoReceipt: ReceiptStat | false = false;
  port = 0;

  private readonly server: smpp.Server;
  private readonly systemId: string;
  private readonly password: string;
  private readonly sessions = new Set<smpp.Session>();
  private readonly bound = new Set<smpp.Session>();
  private readonly submittedOn = new Map<string, smpp.Session>();
  private lastId = Math.floor(Math.random() * 0x10000000);
  private waiters: (() => void)[] = [];

  private constructor(options: TestSmscOptions) {
    this.systemId = options.systemId ?? 'user';
    this.password = options.password ?? 'pass';
    this.server = smpp.createServer((session) => this.accept(session));
  }

  static async start(options: TestSmscOptions = {}): Promise<TestSmsc> {
    const smsc = new TestSmsc(options);
    await new Promise<void>((resolve, reject) => {
      smsc.server.once('error', reject);
      smsc.server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    smsc.port = (smsc.server.address() as AddressInfo).port;
    return smsc;
  }

  /** `smpp://user:pass@127.0.0.1:port`, for SMPP_URL. */
  get url(): string {
    return `smpp://${encodeURIComponent(this.systemId)}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}`;
  }

  /**
   * Whole messages in arrival order: a concatenated one is joined from the first unclaimed part of
   * each index with its reference, sender and recipient; one with parts missing is left out.
   */
  messages(): SmscMessage[] {
    const messages: SmscMessage[] = [];
    const claimed = new Set<SmscSubmit>();
    for (const [position, submit] of this.submits.entries()) {
      if (claimed.has(submit)) continue;
      const { part } = submit;
      const sameMessage = (other: SmscSubmit, index: number) =>
        !claimed.has(other) && other.part?.reference === part?.reference && other.part?.total === part?.total && other.part?.index === index && other.source === submit.source && other.destination === submit.destination;
      const later = this.submits.slice(position);
      const parts = part ? Array.from({ length: part.total }, (_, i) => later.find((other) => sameMessage(other, i + 1))) : [submit];
      if (!parts.every((one): one is SmscSubmit => one !== undefined)) continue;
      parts.forEach((one) => claimed.add(one));
      messages.push({ source: submit.source, destination: submit.destination, text: parts.map((one) => one.text).join(''), messageIds: parts.map((one) => one.messageId) });
    }
    return messages;
  }

  /** Resolves with `submits` once it holds at least `count` parts. */
  async waitForSubmits(count: number, timeoutMs = 10_000): Promise<SmscSubmit[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.submits.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.submits.length} submit_sm within ${timeoutMs} ms, expected ${count}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.submits;
  }

  /**
   * Sends the SMPP 3.4 receipt (deliver_sm, esm_class 0x04, text `id:… stat:… err:…`, no TLVs)
   * for an accepted part, on the session that submitted it or else any bound one. Resolves when
   * the client has answered it. `err` is 000 for DELIVRD, else 012.
   */
  sendReceipt(messageId: string, stat: ReceiptStat = 'DELIVRD'): Promise<void> {
    const submit = this.submits.find((one) => one.messageId === messageId);
    if (!submit) return Promise.reject(new Error(`no submit_sm with message id ${messageId}`));
    const original = this.submittedOn.get(messageId);
    const session = original && this.bound.has(original) ? original : [...this.bound][0];
    if (!session) return Promise.reject(new Error(`no bound session to send the receipt for ${messageId} on`));
    const delivered = stat === 'DELIVRD' ? '001' : '000';
    const date = smppDate(new Date());
    const text = `id:${messageId} sub:001 dlvrd:${delivered} submit date:${date} done date:${date} stat:${stat} err:${stat === 'DELIVRD' ? '000' : '012'} text:${submit.text.slice(0, 20)}`;
    const receipt = new smpp.PDU('deliver_sm', {
      source_addr_ton: submit.destinationTon,
      source_addr_npi: submit.destinationNpi,
      source_addr: submit.destination,
      dest_addr_ton: submit.sourceTon,
      dest_addr_npi: submit.sourceNpi,
      destination_addr: submit.source,
      esm_class: smpp.consts.ESM_CLASS.MC_DELIVERY_RECEIPT,
      data_coding: smpp.encodings.ASCII.match(text) ? smpp.consts.ENCODING.SMSC_DEFAULT : smpp.consts.ENCODING.UCS2,
      short_message: text,
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no deliver_sm_resp for the receipt of ${messageId}`)), 10_000);
      const written = session.send(receipt, (response) => {
        clearTimeout(timer);
        if (response.command_status === smpp.ESME_ROK) resolve();
        else reject(new Error(`client answered the receipt with status 0x${response.command_status.toString(16)}`));
      });
      if (!written) {
        clearTimeout(timer);
        reject(new Error(`session closed before the receipt for ${messageId}`));
      }
    });
  }

  /** Cuts every open connection without unbinding, like a network failure or an SMSC restart. */
  async dropConnections(): Promise<void> {
    await Promise.all([...this.sessions].map((session) => new Promise<void>((resolve) => session.destroy(resolve))));
  }

  async close(): Promise<void> {
    await this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(session: smpp.Session): void {
    this.sessions.add(session);
    session.socket.setNoDelay(true);
    // Resets from clients going away are normal here.
    session.on('error', () => undefined);
    session.on('close', () => {
      this.sessions.delete(session);
      this.bound.delete(session);
    });
    session.on('bind_transceiver', (pdu) => {
      if (pdu.system_id !== this.systemId || pdu.password !== this.password) {
        session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
        session.close();
        return;
      }
      this.bindCount++;
      this.bound.add(session);
      session.send(pdu.response({ system_id: 'TestSmsc' }));
    });
    for (const other of ['bind_transmitter', 'bind_receiver']) {
      session.on(other, (pdu) => {
        session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
        session.close();
      });
    }
    session.on('submit_sm', (pdu) => this.submit(session, pdu));
    session.on('enquire_link', (pdu) => session.send(pdu.response()));
    session.on('unbind', (pdu) => {
      this.bound.delete(session);
      session.send(pdu.response());
      session.close();
    });
    session.on('unknown', (pdu) => session.send(pdu.response()));
  }

  private submit(session: smpp.Session, pdu: smpp.PDU): void {
    if (!this.bound.has(session)) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
      return;
    }
    if (this.throttleNext > 0) {
      this.throttleNext--;
      this.throttled++;
      session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
      return;
    }
    const messageId = (++this.lastId).toString(16).padStart(8, '0');
    const body = pdu.short_message ?? { message: '' };
    this.submits.push({
      messageId,
      source: pdu.source_addr ?? '',
      sourceTon: pdu.source_addr_ton ?? 0,
      sourceNpi: pdu.source_addr_npi ?? 0,
      destination: pdu.destination_addr ?? '',
      destinationTon: pdu.dest_addr_ton ?? 0,
      destinationNpi: pdu.dest_addr_npi ?? 0,
      esmClass: pdu.esm_class ?? 0,
      dataCoding: pdu.data_coding ?? 0,
      registeredDelivery: pdu.registered_delivery ?? 0,
      text: typeof body.message === 'string' ? body.message : body.message.toString('hex'),
      part: concatenation(body.udh ?? []),
    });
    this.submittedOn.set(messageId, session);
    this.waiters.splice(0).forEach((wake) => wake());
    if (!this.answerSubmits) return;
    const answer = (): void => {
      if (session.socket.destroyed) return;
      session.send(pdu.response({ message_id: messageId }));
      if (this.autoReceipt) this.sendReceipt(messageId, this.autoReceipt).catch(() => undefined);
    };
    if (this.answerDelayMs > 0) setTimeout(answer, this.answerDelayMs);
    else answer();
  }
}

/** Reads the concatenation information element: IEI 0x00 (8-bit reference) or 0x08 (16-bit). */
function concatenation(elements: Buffer[]): SmscSubmit['part'] {
  for (const element of elements) {
    if (element[0] === 0x00 && element[1] === 3) return { reference: element[2], total: element[3], index: element[4] };
    if (element[0] === 0x08 && element[1] === 4) return { reference: element.readUInt16BE(2), total: element[4], index: element[5] };
  }
  return undefined;
}

/** YYMMDDhhmm, as receipts write dates. */
function smppDate(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(2, 12);
}
