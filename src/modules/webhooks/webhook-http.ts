import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { BlockList, isIP, LookupFunction } from 'node:net';
import { Agent, request } from 'undici';
import { AppConfig } from '../../config/app-config';

/** What one POST came to. */
export interface PostOutcome {
  /** A 2xx answer. */
  ok: boolean;
  statusCode: number | null;
  /** Why it failed, in one line: the status, a timeout, the network error or a refused address. */
  error: string | null;
}

/** Loopback, private, link-local, shared (CGNAT) and unspecified space, IPv4 and IPv6 (IPv4-mapped ones too). */
const PRIVATE = new BlockList();
for (const [network, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) PRIVATE.addSubnet(network, prefix, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

class PrivateAddressError extends Error {
  readonly code = 'WEBHOOK_PRIVATE_ADDRESS';
  constructor(host: string, address: string) {
    super(`${host === address ? 'address' : `${host} resolves to`} ${address}, in loopback, private or link-local space (WEBHOOK_PRIVATE_ADDRESSES=deny)`);
  }
}

/**
 * Resolves the name itself and refuses it when any of its addresses is private; the connection
 * is then made to exactly the addresses checked (net.connect uses what this lookup answers), so
 * a DNS answer that changes between a check and the connect cannot slip past.
 */
const checkedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 4);
    const refused = addresses.find((entry) => isPrivateAddress(entry.address));
    if (refused) return callback(new PrivateAddressError(hostname, refused.address), '', 4);
    if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
};

/**
 * The webhooks' HTTP client: one POST within the timeout, no redirects followed, the answer's
 * body read and dropped. With WEBHOOK_PRIVATE_ADDRESSES=deny, the address is checked at connect
 * time, on every new connection.
 */
@Injectable()
export class WebhookHttp implements OnModuleDestroy {
  private readonly agent: Agent;
  private readonly deny: boolean;
  private readonly timeoutMs: number;

  constructor(config: AppConfig) {
    this.deny = config.webhooks.privateAddresses === 'deny';
    this.timeoutMs = config.webhooks.timeoutMs;
    this.agent = new Agent({ connect: { timeout: this.timeoutMs, ...(this.deny ? { lookup: checkedLookup } : {}) } });
  }

  async post(url: string, headers: Record<string, string>, body: string): Promise<PostOutcome> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    // An address written in the URL is never looked up: check it here.
    if (this.deny && isPrivateAddress(host)) return { ok: false, statusCode: null, error: new PrivateAddressError(host, host).message };
    try {
      const response = await request(url, { method: 'POST', headers, body, dispatcher: this.agent, signal: AbortSignal.timeout(this.timeoutMs) });
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      return { ok, statusCode: response.statusCode, error: ok ? null : `HTTP ${response.statusCode}` };
    } catch (error) {
      return { ok: false, statusCode: null, error: this.describe(error) };
    }
  }

  /** Shutdown: POSTs under way finish (within their timeout) before the connections close. */
  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }

  private describe(error: unknown): string {
    for (let cause = error; cause; cause = (cause as { cause?: unknown }).cause) {
      if (cause instanceof PrivateAddressError) return cause.message;
    }
    const name = (error as { name?: unknown } | null)?.name;
    const code = (error as { code?: unknown } | null)?.code;
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return `timed out after ${this.timeoutMs} ms`;
    }
    if (code === 'UND_ERR_SOCKET') return 'connection closed before an answer';
    const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
    const detail = typeof code === 'string' ? code : typeof cause === 'string' ? cause : error instanceof Error ? error.message : String(error);
    return `unreachable: ${detail}`.slice(0, 512);
  }
}
