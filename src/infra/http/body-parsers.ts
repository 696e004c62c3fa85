import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import { parse } from 'qs';
import { AppError } from '../../common/errors/app-error';
import { hasIntegerLikeKey, keepJsonKeyOrder, keepKeyOrder } from '../../common/key-order';

export const BODY_LIMIT = 64 * 1024;
/** Deeper JSON than this is refused at parse time: class-transformer and class-validator recurse per level. */
export const MAX_JSON_DEPTH = 32;

/**
 * JSON and form bodies (SPEC §1), with their failures turned into catalogue errors here, where
 * it is still known that the body was at fault: malformed JSON is a 481 on `body`, an oversized
 * body a 413. Both are read as text (Express's reader: length limit, charsets) and parsed here.
 * A body of any other type is not read, and an empty body is no body: the request's own
 * validation then says which parameter is missing.
 */
export function bodyParsers(): RequestHandler[] {
  return [textParser('application/json', parseJson), textParser('application/x-www-form-urlencoded', parseForm), refuseOtherBodies];
}

/** A body neither parser read is of another type (SPEC §2: 415), not a request without parameters. */
function refuseOtherBodies(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (req.body === undefined && hasBody) {
    const type = req.headers['content-type']?.split(';')[0].trim() || 'none';
    return next(new AppError('UNSUPPORTED_MEDIA_TYPE', { type }));
  }
  next();
}

function textParser(type: string, parseText: (text: string) => unknown): RequestHandler {
  // The bytes as received stay on the request (`rawBody`, as Nest's RawBodyRequest has it) for a
  // route that checks a signature over them (WhatsApp's status callbacks): text decoding may change them.
  const read = express.text({ type, limit: BODY_LIMIT, verify: keepRawBody });
  return (req: Request, res: Response, next: NextFunction) =>
    read(req, res, (error?: unknown) => {
      if (error) return next(toAppError(error));
      if (typeof req.body !== 'string') return next();
      try {
        req.body = parseText(req.body);
      } catch (parseError) {
        return next(parseError);
      }
      next();
    });
}

/**
 * Strict JSON, as Express's own parser reads it (an object or an array, not a bare value), with
 * `__proto__` keys dropped and nesting bounded. Throws the 481 on `body`.
 */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  if (!/^\s*[[{]/.test(text)) throw malformed();
  if (depthOf(text) > MAX_JSON_DEPTH) throw AppError.invalid('body', `nested deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    // The reviver only runs where a `__proto__` key could be (written out, or behind an escape).
    value = JSON.parse(text, text.includes('proto') || text.includes('\\u') ? dropProto : undefined);
  } catch {
    throw malformed();
  }
  keepJsonKeyOrder(text, value);
  return value;
}

/**
 * A form with bracket maps (`limits[limit_on_phone]=...`, qs as Express's extended parser reads
 * it). A map of one level keeps its keys as written, in the written order: qs would read
 * `limits[2]=x` as an array and put integer-like names first.
 */
export function parseForm(text: string): unknown {
  if (text.trim() === '') return undefined;
  let form: Record<string, unknown>;
  try {
    form = parse(text, { parameterLimit: 200, throwOnLimitExceeded: true, depth: 5, strictDepth: true });
  } catch {
    throw AppError.invalid('body', 'unreadable request body');
  }
  const fields = [...new URLSearchParams(text)];
  const maps = new Map<string, [string, string][]>();
  for (const [name, value] of fields) {
    const [, base, key] = /^([^[\]]+)\[([^[\]]+)\]$/.exec(name) ?? [];
    if (base && base !== '__proto__' && key !== '__proto__') maps.set(base, [...(maps.get(base) ?? []), [key, value]]);
  }
  for (const [base, entries] of maps) {
    // Only where every field of that name is a one-level map entry (not `buckets[0][name]`).
    if (fields.filter(([name]) => name === base || name.startsWith(`${base}[`)).length !== entries.length) continue;
    const map = Object.fromEntries(entries);
    if (hasIntegerLikeKey(map)) keepKeyOrder(map, [...new Set(entries.map(([key]) => key))]);
    form[base] = map;
  }
  return form;
}

function keepRawBody(req: Request & { rawBody?: Buffer }, _res: Response, body: Buffer): void {
  req.rawBody = body;
}

function dropProto(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

/** The deepest nesting of objects and arrays, brackets inside strings not counted. */
function depthOf(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

function malformed(): AppError {
  return AppError.invalid('body', 'malformed JSON');
}

function toAppError(error: unknown): AppError {
  const type = (error as { type?: unknown }).type;
  if (type === 'entity.too.large') return new AppError('BODY_TOO_LARGE');
  return AppError.invalid('body', 'unreadable request body');
}
