import { request } from 'undici';

/** Helpers of the providers that speak HTTP (the SMS gateway, the Calls API and WhatsApp's Cloud API). */

export interface HttpAnswer {
  ok: boolean;
  status: number;
  /** The body; empty when it could not be read (the request may still have been accepted). */
  text: string;
}

/** undici's own errors for a peer too slow to connect, to answer, or to finish its answer. */
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * POSTs and reads the answer: headers, then each part of the body, within `timeoutMs` (undici
 * checks about once a second; connecting within its 10 s). undici's `request` on its keep-alive
 * pool: fetch costs about four times its CPU per request, which the embedded default pays in the
 * process that also serves the API.
 */
export async function post(url: string, headers: Record<string, string>, body: string, peer: string, timeoutMs: number): Promise<HttpAnswer> {
  try {
    const response = await request(url, { method: 'POST', headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await response.body.text().catch(() => '');
    return { ok: response.statusCode >= 200 && response.statusCode < 300, status: response.statusCode, text };
  } catch (error) {
    throw requestError(error, peer, timeoutMs);
  }
}

/** A failed request as one clear line: a timeout, or the network cause (never the request body). */
function requestError(error: unknown, peer: string, timeoutMs: number): Error {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUTS.has(code)) return new Error(`${peer} timed out after ${timeoutMs} ms`);
  const detail = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
  return new Error(`${peer} unreachable: ${detail}`);
}

/**
 * A peer's base URL, checked once at start-up: valid and http(s). The errors name `peer` and never
 * the URL, whose credentials they would print.
 */
export function peerUrl(url: string, peer: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${peer} URL is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${peer} URL must be http or https, not ${parsed.protocol}`);
  return parsed;
}

/** A JSON object answer, or undefined for anything else (an empty body, text, an array, a number). */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  // An empty answer (a bare 200) is common; JSON.parse would throw, and an exception costs a stack trace.
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}

/** A string or number field of a JSON object answer, as a string; anything else is undefined. */
export function jsonField(text: string, field: string): string | undefined {
  const value = jsonObject(text)?.[field];
  return (typeof value === 'string' && value !== '') || typeof value === 'number' ? String(value) : undefined;
}
