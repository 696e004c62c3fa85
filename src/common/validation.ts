import { ValidationError, ValidationPipe } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { Matches, ValidateBy } from 'class-validator';
import { SidPrefix, sidPattern } from './ids';
import { AppError } from './errors/app-error';

const MISSING_CONSTRAINTS = new Set(['isDefined', 'isNotEmpty']);

/**
 * The one validation pipe: DTOs describe the input, and the first violation becomes 480 (absent or
 * empty) or 481 (present but wrong) with the parameter's name, as the catalogue says.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    exceptionFactory: (errors) => toAppError(errors),
  });
}

function toAppError(errors: ValidationError[], parent = ''): AppError {
  const error = errors[0];
  const inner = error.value instanceof Refused ? error.value.path : '';
  const name = `${parent ? `${parent}.${error.property}` : error.property}${inner}`;
  if (!error.constraints && error.children?.length) return toAppError(error.children, name);
  const constraints = Object.entries(error.constraints ?? {});
  if (constraints.some(([constraint]) => MISSING_CONSTRAINTS.has(constraint))) return AppError.missing(name);
  // Decorators run bottom-up; the last violation reported is the top-most, most general one.
  const [, message] = constraints[constraints.length - 1] ?? ['', 'is invalid'];
  // class-validator's default messages start with the property name; the envelope names it already.
  return AppError.invalid(name, message.startsWith(`${error.property} `) ? message.slice(error.property.length + 1) : message);
}

/** Numbers may arrive as strings (`"length":"6"`); anything else is left for the validator to refuse. */
export const ToInt = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\s*-?\d{1,15}\s*$/.test(value) ? Number(value) : value));

/** `true`/`false` from a query string or a form body. */
export const ToBoolean = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value));

/** Trims strings; an all-blank value then counts as missing. */
export const Trim = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

/**
 * What a field's parser answers for a value it refuses: why, as the 481 message says it, and where
 * inside the field when it is a structure (`[1].to` names `fallback[1].to`).
 */
export class Refused {
  constructor(
    readonly why: string,
    readonly path = '',
  ) {}
}

/**
 * A field the DTO parses into its working form (a normalised phone number, a map read from JSON):
 * the transform runs `parse` on a given value, and a refusal becomes the field's 481. A blank
 * string is no value (480 where the field is required). Put it first (top-most), so that its
 * reason is the one reported.
 */
export function ParsedWith<T>(parse: (value: unknown, input: Record<string, unknown>) => T | Refused): PropertyDecorator {
  // The value as sent (`obj[key]`): class-transformer's copy of a nested object has lost keys
  // such as `toString` and the written key order.
  const transform = Transform(({ key, obj }: { key: string; obj: Record<string, unknown> }) => {
    const value = obj[key];
    if (value === undefined || value === null) return value;
    if (typeof value === 'string' && value.trim() === '') return undefined;
    return parse(value, obj);
  });
  const check = ValidateBy({
    name: 'parsed',
    validator: { validate: (value) => !(value instanceof Refused), defaultMessage: (args) => (args?.value as Refused).why },
  });
  return (target, key) => {
    transform(target, key);
    check(target, key);
  };
}

/** A sid field: refused (481) unless it has the form of one, before anything looks it up. */
export const IsSid = (prefix: SidPrefix): PropertyDecorator => Matches(sidPattern(prefix), { message: `must be ${prefix} followed by 32 lower-case hex digits` });
