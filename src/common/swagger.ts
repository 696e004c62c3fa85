import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ERROR_CATALOGUE, ErrorKey, renderMessage } from './errors/error-catalogue';

export class ErrorEnvelopeDto {
  @ApiProperty({ example: 481, description: 'Sub-code from the error catalogue.' })
  code: number;

  @ApiProperty({ example: 'Invalid parameter length: must not be greater than 10' })
  message: string;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'The OTP request id, or the correlation id of a 500.' })
  requestID: string | null;
}

export class OtpEnvelopeDto {
  @ApiProperty({ example: 200 })
  code: number;

  @ApiProperty({ example: 'OK' })
  message: string;

  @ApiProperty({ example: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a' })
  requestID: string;
}

const EXAMPLE_PARAMS: Record<string, string> = {
  name: 'limit_on_phone',
  why: 'must be an integer',
  sid: 'AC0123456789abcdef0123456789abcdef',
};

/** Where the shared example params would read wrong. */
const EXAMPLE_PARAMS_OF: Partial<Record<ErrorKey, Record<string, string>>> = {
  DESTINATION_NOT_PERMITTED: { why: 'country XX is not enabled for sms' },
  FRAUD_BLOCKED: { prefix: '+44791' },
};

/** Errors every authenticated route can answer. */
const COMMON: ErrorKey[] = ['AUTH_FAILED', 'INTERNAL', 'UNAVAILABLE'];

/**
 * Documents a route's error answers from the catalogue itself: one response per HTTP status, with
 * one example per sub-code, so the spec shows exactly what the filter sends.
 */
export function ApiErrors(...keys: ErrorKey[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorKey[]>();
  for (const key of new Set([...keys, ...COMMON])) {
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

function headersFor(keys: ErrorKey[]): Record<string, { description: string; schema: { type: 'string' | 'integer' } }> | undefined {
  if (keys.includes('AUTH_FAILED')) return { 'WWW-Authenticate': { description: 'Basic realm="otpgate"', schema: { type: 'string' } } };
  if (keys.includes('LIMIT_EXCEEDED')) return { 'Retry-After': { description: 'Seconds until the limit would admit a send (454 only).', schema: { type: 'integer' } } };
  if (keys.includes('FRAUD_BLOCKED')) return { 'Retry-After': { description: 'Seconds until the fraud guard block ends (484 only).', schema: { type: 'integer' } } };
  return undefined;
}

/** `{data, code: 200, message: "OK"}` around a model. */
export function ApiDataResponse(model: Type<unknown>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(model),
    ApiOkResponse({ schema: envelopeSchema({ $ref: getSchemaPath(model) }) }),
  );
}

/** `{data: {result: [...], paging fields}, code: 200, message: "OK"}` around a model. */
export function ApiPageResponse(model: Type<unknown>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(model),
    ApiOkResponse({
      schema: envelopeSchema({
        type: 'object',
        properties: {
          result: { type: 'array', items: { $ref: getSchemaPath(model) } },
          pageSize: { type: 'integer', example: 10 },
          total: { type: 'integer', example: 7 },
          page: { type: 'integer', example: 0 },
          numPages: { type: 'integer', example: 1 },
          start: { type: 'integer', example: 0 },
          end: { type: 'integer', example: 6 },
          firstPageUri: { type: 'string' },
          nextPageUri: { type: 'string', nullable: true },
          uri: { type: 'string' },
        },
      }),
    }),
  );
}

function envelopeSchema(data: object): object {
  return {
    type: 'object',
    properties: { data, code: { type: 'integer', example: 200 }, message: { type: 'string', example: 'OK' } },
  };
}
