/** Helpers of the providers that speak HTTP (the SMS gateway and the Calls API). */

export interface HttpAnswer {
  ok: boolean;
  status: number;
  /** The body; empty when it could not be read (the request may still have been accepted). */
  text: string;
}

/**
 * POSTs and reads the answer within `timeoutMs`. The timer is cleared once the answer is read:
 * `AbortSignal.timeout` would keep every request's state alive for the whole timeout.
 */
export async function post(url: string, headers: Record<string, string>, body: string, peer: string, timeoutMs: number): Promise<HttpAnswer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`${peer} timed out`, 'TimeoutError')), timeoutMs);
  try {
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body, signal: controller.signal });
    } catch (error) {
      throw requestError(error, peer, timeoutMs);
    }
    return { ok: response.ok, status: response.status, text: await response.text().catch(() => '') };
  } finally {
    clearTimeout(timer);
  }
}

/** A fetch failure as one clear line: a timeout, or the network cause (never the request body). */
function requestError(error: unknown, peer: string, timeoutMs: number): Error {
  if ((error as { name?: unknown } | null)?.name === 'TimeoutError') return new Error(`${peer} timed out after ${timeoutMs} ms`);
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : error instanceof Error ? error.message : String(error);
  return new Error(`${peer} unreachable: ${detail}`);
}

/** A string or number field of a JSON object answer, as a string; anything else is undefined. */
export function jsonField(text: string, field: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const value = (parsed as Record<string, unknown>)[field];
  return (typeof value === 'string' && value !== '') || typeof value === 'number' ? String(value) : undefined;
}
