import { applyDecorators, Type } from '@nestjs/common';
import { ApiConsumes, ApiExtraModels, ApiOkResponse, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { HeadersObject, LinksObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ERROR_CATALOGUE, ErrorKey, renderMessage } from './errors/error-catalogue';

/** Response timestamps as SPEC §1 writes them (`2021-02-04T03:52:09.400+0000`: not RFC 3339's offset). */
export const TIMESTAMP = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}\\+0000$', example: '2021-02-04T03:52:09.400+0000' } as const;
/** Time filters: an ISO-8601 date or date-time, UTC unless an offset is given. */
export const TIME_FILTER = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:?\\d{2})?)?$' } as const;
export const ACCOUNT_SID = { type: 'string', pattern: '^AC[0-9a-f]{32}$', example: 'AC55a9977a50647d2fa38fa1f505206aaf' } as const;
export const LIMIT_SID = { type: 'string', pattern: '^LM[0-9a-f]{32}$', example: 'LM29c3cdc8123545a4aa62b7451f1f719d' } as const;
export const WEBHOOK_SID = { type: 'string', pattern: '^WH[0-9a-f]{32}$', example: 'WH8d0c6f0b4e2a4c7b9f1e3d5a7c9b1e3d' } as const;
export const REQUEST_ID = { type: 'string', pattern: '^OTP[0-9a-f]{32}$', example: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' } as const;

export class ErrorEnvelopeDto {
  @ApiProperty({ type: 'integer', example: 481, description: 'Sub-code from the error catalogue.' })
  code: number;

  @ApiProperty({ example: 'Invalid parameter length: must not be greater than 10' })
  message: string;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'The OTP request id the error is about, or the correlation id of a 500.' })
  requestID: string | null;
}

export class OtpEnvelopeDto {
  @ApiProperty({ type: 'integer', example: 200 })
  code: number;

  @ApiProperty({ example: 'OK', enum: ['OK', 'verified', 'canceled'] })
  message: string;

  @ApiProperty(REQUEST_ID)
  requestID: string;
}

const EXAMPLE_PARAMS: Record<string, string> = {
  name: 'limit_on_phone',
  why: 'must be an integer',
  sid: 'AC0123456789abcdef0123456789abcdef',
  type: 'text/plain',
};

/** Where the shared example params would read wrong. */
const EXAMPLE_PARAMS_OF: Partial<Record<ErrorKey, Record<string, string>>> = {
  DESTINATION_NOT_PERMITTED: { why: 'country XX is not enabled for sms' },
  FRAUD_BLOCKED: { prefix: '+44791' },
};

/** Errors every route can answer (431: a URL or headers over Node's 16 kB), and every authenticated one. */
const EVERY: ErrorKey[] = ['HEADERS_TOO_LARGE', 'INTERNAL', 'UNAVAILABLE'];
const AUTHENTICATED: ErrorKey[] = [...EVERY, 'AUTH_FAILED', 'AUTH_THROTTLED'];
/** What a body sent to a route that takes none can still answer: it is read (and refused) like any other. */
export const BODY_READ: ErrorKey[] = ['INVALID_PARAMETER', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
/** ... and every route that reads a body. */
const WITH_BODY: ErrorKey[] = ['MISSING_PARAMETER', ...BODY_READ];

/**
 * Documents a route's error answers from the catalogue itself: one response per HTTP status, with
 * one example per sub-code, so the spec shows exactly what the filter sends. `body`: the route
 * reads a body (JSON or form); `public`: no credentials are asked.
 */
export function ApiErrors(...keys: (ErrorKey | { body?: boolean; public?: boolean })[]): MethodDecorator & ClassDecorator {
  const flags = keys.filter((key): key is { body?: boolean; public?: boolean } => typeof key === 'object');
  const all = new Set<ErrorKey>(keys.filter((key): key is ErrorKey => typeof key === 'string'));
  if (flags.some((flag) => flag.body)) WITH_BODY.forEach((key) => all.add(key));
  (flags.some((flag) => flag.public) ? EVERY : AUTHENTICATED).forEach((key) => all.add(key));
  const byStatus = new Map<number, ErrorKey[]>();
  for (const key of all) {
    const { status } = ERROR_CATALOGUE[key];
    byStatus.set(status, [...(byStatus.get(status) ?? []), key]);
  }
  const decorators = [...byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, statusKeys]) =>
      ApiResponse({
        status,
        type: ErrorEnvelopeDto,
        description: statusKeys.map((key) => `${ERROR_CATALOGUE[key].code}: ${ERROR_CATALOGUE[key].message}`).join('; '),
        headers: headersFor(statusKeys),
        examples: Object.fromEntries(
          statusKeys.map((key) => {
            const { code, message } = ERROR_CATALOGUE[key];
            return [String(code), { summary: message, value: { code, message: renderMessage(message, EXAMPLE_PARAMS_OF[key] ?? EXAMPLE_PARAMS), requestID: null } }];
          }),
        ),
      }),
    );
  return applyDecorators(ApiExtraModels(ErrorEnvelopeDto), ...decorators);
}

/** Headers of an error answer: each named with the codes that carry it. */
function headersFor(keys: ErrorKey[]): HeadersObject | undefined {
  const headers: HeadersObject = {};
  if (keys.includes('AUTH_FAILED')) {
    headers['WWW-Authenticate'] = { description: 'Basic realm="otpgate", with code 401 only (never with 474)', schema: { type: 'string' } };
  }
  const waits = keys.filter((key) => key === 'DEFAULT_LIMIT_EXCEEDED' || key === 'LIMIT_EXCEEDED' || key === 'AUTH_THROTTLED' || key === 'FRAUD_BLOCKED');
  if (waits.length) {
    headers['Retry-After'] = { description: `Seconds until a retry can succeed, with code ${waits.map((key) => ERROR_CATALOGUE[key].code).join(' or ')}`, schema: { type: 'integer', minimum: 1 } };
  }
  if (keys.includes('METHOD_NOT_ALLOWED')) headers.Allow = { description: 'The methods of the path', schema: { type: 'string' } };
  return Object.keys(headers).length ? headers : undefined;
}

/** A request body taken as JSON or as a form (SPEC §1). */
export const ApiJsonOrForm = (): MethodDecorator & ClassDecorator => ApiConsumes('application/json', 'application/x-www-form-urlencoded');

/** `{data, code: 200, message: "OK"}` around a model. */
export function ApiDataResponse(model: Type<unknown>, links?: LinksObject): MethodDecorator & ClassDecorator {
  return applyDecorators(ApiExtraModels(model), ApiOkResponse({ description: 'OK', schema: envelopeSchema({ $ref: getSchemaPath(model) }), links }));
}

/** `{data: {result: [...], paging fields}, code: 200, message: "OK"}` around a model. */
export function ApiPageResponse(model: Type<unknown>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(model),
    ApiOkResponse({
      description: 'One page of the list',
      schema: envelopeSchema({
        type: 'object',
        required: ['result', 'pageSize', 'total', 'page', 'numPages', 'start', 'end', 'firstPageUri', 'nextPageUri', 'uri'],
        properties: {
          result: { type: 'array', items: { $ref: getSchemaPath(model) } },
          pageSize: { type: 'integer', example: 10 },
          total: { type: 'integer', example: 7 },
          page: { type: 'integer', example: 0 },
          numPages: { type: 'integer', example: 1, description: 'ceil(total / pageSize)' },
          start: { type: 'integer', example: 0, description: 'Offset of the first record on the page' },
          end: { type: 'integer', example: 6, description: 'Offset of the last record on the page' },
          firstPageUri: { type: 'string' },
          nextPageUri: { type: 'string', nullable: true, description: 'null on the last page' },
          uri: { type: 'string' },
        },
      }),
    }),
  );
}

function envelopeSchema(data: object): object {
  return {
    type: 'object',
    required: ['data', 'code', 'message'],
    properties: { data, code: { type: 'integer', example: 200 }, message: { type: 'string', example: 'OK' } },
  };
}
