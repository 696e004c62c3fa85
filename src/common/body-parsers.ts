import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from './errors/app-error';

/**
 * JSON and form bodies (SPEC §1), with their failures turned into catalogue errors here, where
 * it is still known that the body was at fault: malformed JSON is a 481 on `body`, an oversized
 * body a 413. `extended` forms parse bracket maps such as `limits[limit_on_phone]=...`.
 */
export function bodyParsers(limit: string): RequestHandler[] {
  return [
    express.json({ limit }),
    express.urlencoded({ limit, extended: true, parameterLimit: 200 }),
  ].map((parser) => (req: Request, res: Response, next: NextFunction) => parser(req, res, (error?: unknown) => next(error ? toAppError(error) : undefined)));
}

function toAppError(error: unknown): AppError {
  const type = (error as { type?: unknown }).type;
  if (type === 'entity.too.large') return new AppError('BODY_TOO_LARGE');
  if (type === 'entity.parse.failed') return AppError.invalid('body', 'malformed JSON');
  return AppError.invalid('body', 'unreadable request body');
}
