/** Helpers of the providers that speak HTTP (the SMS gateway and the Calls API). */

/** A fetch failure as one clear line: a timeout, or the network cause (never the request body). */
export function requestError(error: unknown, peer: string, timeoutMs: number): Error {
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
