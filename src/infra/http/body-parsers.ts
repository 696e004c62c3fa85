import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../../common/errors/app-error';

export const BODY_LIMIT = 64 * 1024;
/** Deeper JSON than this is refused at parse time: class-transformer and class-validator recurse per level. */
export const MAX_JSON_DEPTH = 32;

/**
 * JSON and form bodies (SPEC §1), with their failures turned into catalogue errors here, where
 * it is still known that the body was at fault: malformed JSON is a 481 on `body`, an oversized
 * body a 413. Forms parse bracket maps such as `limits[limit_on_phone]=...` (qs, through Express's
 * extended parser). A body of any other type is not read, and an empty JSON body is no body: the
 * request's own validation then says which parameter is missing.
 */
export function bodyParsers(): RequestHandler[] {
  const json = express.text({ type: 'application/json', limit: BODY_LIMIT });
  const form = express.urlencoded({ type: 'application/x-www-form-urlencoded', limit: BODY_LIMIT, extended: true, parameterLimit: 200 });
  return [
    (req: Request, res: Response, next: NextFunction) =>
      json(req, res, (error?: unknown) => {
        if (error) return next(toAppError(error));
        if (typeof req.body === 'string') {
          try {
            req.body = parseJson(req.body);
          } catch (parseError) {
            return next(parseError);
          }
        }
        next();
      }),
    (req: Request, res: Response, next: NextFunction) => form(req, res, (error?: unknown) => next(error ? toAppError(error) : undefined)),
  ];
}

/**
 * Strict JSON, as Express's own parser reads it (an object or an array, not a bare value), with
 * `__proto__` keys dropped and nesting bounded. Throws the 481 on `body`.
 */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  if (!/^\s*[[{]/.test(text) || depthOf(text) > MAX_JSON_DEPTH) throw malformed();
  try {
    // The reviver only runs where a `__proto__` key could be (written out, or behind an escape).
    return JSON.parse(text, text.includes('proto') || text.includes('\\u') ? dropProto : undefined) as unknown;
  } catch {
    throw malformed();
  }
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
