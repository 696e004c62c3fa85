/**
 * The part of npm `smpp` 0.5 (farhadi/node-smpp, which ships no types) that otpgate uses: the SMPP
 * provider and the test SMSC. Field names are the SMPP specification's, as the library spells them.
 */
declare module 'smpp' {
  import { Server as NetServer, Socket } from 'node:net';

  /**
   * A short_message to send. A string is encoded per `data_coding` (0 → GSM 03.38 unpacked, 8 →
   * UCS-2; left unset, the library picks one itself and labels GSM as 0x01). A Buffer goes as is.
   * With `udh`, the header is put in front and the UDHI bit (0x40) is set in `esm_class`.
   */
  export type MessageBody = string | Buffer | { udh: Buffer; message: string | Buffer };

  /**
   * A received short_message: the UDH split into its information elements, the rest decoded per
   * `data_coding` (a Buffer when the library has no decoder for it).
   */
  export interface DecodedMessage {
    udh?: Buffer[];
    message: string | Buffer;
  }

  /** The fields a PDU can be built with (the library accepts every field of SMPP 5.0). */
  export interface PduFields {
    command_status?: number;
    system_id?: string;
    password?: string;
    interface_version?: number;
    message_id?: string;
    source_addr_ton?: number;
    source_addr_npi?: number;
    source_addr?: string;
    dest_addr_ton?: number;
    dest_addr_npi?: number;
    destination_addr?: string;
    esm_class?: number;
    registered_delivery?: number;
    data_coding?: number;
    short_message?: MessageBody;
    receipted_message_id?: string;
    message_state?: number;
  }

  export class PDU {
    constructor(command: string, fields?: PduFields);
    /** `submit_sm`, `deliver_sm_resp`, …; `unknown` for a command the library does not know. */
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    /** Body fields of a received PDU; which ones are present depends on the command. */
    system_id?: string;
    password?: string;
    message_id?: string;
    source_addr_ton?: number;
    source_addr_npi?: number;
    source_addr?: string;
    dest_addr_ton?: number;
    dest_addr_npi?: number;
    destination_addr?: string;
    esm_class?: number;
    registered_delivery?: number;
    data_coding?: number;
    short_message?: DecodedMessage;
    message_payload?: DecodedMessage;
    receipted_message_id?: string;
    message_state?: number;
    isResponse(): boolean;
    /** The response to this request, same sequence number (a generic_nack for an unknown PDU). */
    response(fields?: PduFields): PDU;
  }

  /**
   * One SMPP connection, client or server side. Every received PDU is emitted under its command
   * name (`deliver_sm`, `enquire_link`, …). An `error` is followed by `close`; without an `error`
   * listener it would be thrown.
   */
  export class Session {
    readonly socket: Socket;
    /**
     * Writes the PDU (a request gets the next sequence number). Returns false, and never calls
     * back, when the socket is not writable. `onResponse` is called only if an answer comes.
     */
    send(pdu: PDU, onResponse?: (response: PDU) => void): boolean;
    /** Ends the socket gracefully. */
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    on(event: 'connect' | 'close', listener: () => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: string, listener: (pdu: PDU) => void): this;
  }

  export class Server extends NetServer {
    /** The sessions whose socket is still open. */
    readonly sessions: Session[];
  }

  export function createServer(onSession: (session: Session) => void): Server;
  /** A client session; the TCP connection starts at once (`connect` event when established). */
  export function connect(options: { host: string; port: number }): Session;

  export interface TextEncoding {
    match(text: string): boolean;
    encode(text: string): Buffer;
    decode(bytes: Buffer): string;
  }
  /** `ASCII` is the library's name for the GSM 03.38 default alphabet (one septet per octet). */
  export const encodings: { ASCII: TextEncoding; LATIN1: TextEncoding; UCS2: TextEncoding };

  /** command_status names to values (`ESME_RTHROTTLED` → 0x58, …). */
  export const errors: Readonly<Record<string, number>>;
  export const ESME_ROK: number;
  export const ESME_RSYSERR: number;
  export const ESME_RINVBNDSTS: number;
  export const ESME_RBINDFAIL: number;
  export const ESME_RTHROTTLED: number;

  export const consts: {
    ESM_CLASS: { MC_DELIVERY_RECEIPT: number; UDH_INDICATOR: number };
    TON: { INTERNATIONAL: number; ALPHANUMERIC: number };
    NPI: { UNKNOWN: number; ISDN: number };
    ENCODING: { SMSC_DEFAULT: number; UCS2: number };
    REGISTERED_DELIVERY: { FINAL: number };
    MESSAGE_STATE: { ENROUTE: number; DELIVERED: number };
  };
}
