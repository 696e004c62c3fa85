import type { FastifyInstance } from 'fastify';
import { parse } from 'qs';
import { AppError } from './errors/app-error';

/**
 * JSON and form bodies (SPEC §1), with their failures turned into catalogue errors here, where
 * it is still known that the body was at fault: malformed JSON is a 481 on `body` (an oversized
 * body is Fastify's 413). Forms parse bracket maps such as `limits[limit_on_phone]=...` (qs).
 * A body of any other type, and an empty JSON body, read as no body: the request's own
 * validation then says which parameter is missing.
 */
export function registerBodyParsers(fastify: FastifyInstance): void {
  const json = fastify.getDefaultJsonParser('remove', 'remove');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    void json(request, body as string, (error, value: unknown) => {
      // Like Express's strict parser: an object or an array, not a bare string or number.
      done(error || typeof value !== 'object' || value === null ? AppError.invalid('body', 'malformed JSON') : null, value);
    });
  });
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parse(body.toString(), { parameterLimit: 200, throwOnLimitExceeded: true }));
    } catch {
      done(AppError.invalid('body', 'unreadable request body'));
    }
  });
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, undefined));
}
