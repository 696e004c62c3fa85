import { ApiPropertyOptional } from '@nestjs/swagger';
import { Expose, Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { AppError } from './errors/app-error';

const toInt = (value: unknown): unknown =>
  typeof value === 'string' && /^\s*-?\d{1,15}\s*$/.test(value) ? Number(value) : value;

export const MAX_PAGE_SIZE = 1000;
/** The last page any list can have: `page × pageSize` stays a safe integer (and a valid SQL offset). */
export const MAX_PAGE = Math.floor(Number.MAX_SAFE_INTEGER / MAX_PAGE_SIZE);

/**
 * Paging of every list (SPEC §1): `page`/`Page` from 0, `pageSize`/`PageSize` 1–1000, default 10,
 * the same rule whether they come in the query or (POST searches) the body.
 */
export class PagingQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_PAGE, default: 0, description: 'Page to return, from 0 (`Page` is accepted too).' })
  @Expose()
  @Transform(({ obj }: { obj: Record<string, unknown> }) => toInt(obj.page ?? obj.Page))
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_PAGE)
  page?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: 10, description: 'Records per page (`PageSize` is accepted too).' })
  @Expose()
  @Transform(({ obj }: { obj: Record<string, unknown> }) => toInt(obj.pageSize ?? obj.PageSize))
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  pageSize?: number;

  @ApiPropertyOptional({ description: 'Sort order: `<attribute>:<asc|desc>`, ascending when no direction is given.' })
  @Expose()
  @Transform(({ obj }: { obj: Record<string, unknown> }) => obj.SortBy ?? obj.sortBy)
  @IsOptional()
  @IsString()
  SortBy?: string;
}

export interface Page<T> {
  result: T[];
  pageSize: number;
  total: number;
  page: number;
  numPages: number;
  start: number;
  end: number;
  firstPageUri: string;
  nextPageUri: string | null;
  uri: string;
}

export interface PageWindow {
  page: number;
  pageSize: number;
  offset: number;
}

export function pageWindow(query: PagingQuery): PageWindow {
  const page = query.page ?? 0;
  const pageSize = query.pageSize ?? 10;
  return { page, pageSize, offset: page * pageSize };
}

/**
 * Builds the paged answer. The URIs keep the request's filters (undefined ones are left out),
 * so a client can follow `nextPageUri` without rebuilding the query.
 */
export type UriFilters = Record<string, string | number | boolean | undefined>;

export function toPage<T>(path: string, filters: UriFilters, window: PageWindow, total: number, result: T[]): Page<T> {
  const uri = (page: number): string => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) {
      if (value !== undefined && value !== '') params.set(key, String(value));
    }
    params.set('pageSize', String(window.pageSize));
    params.set('page', String(page));
    return `${path}?${params.toString()}`;
  };
  const numPages = Math.ceil(total / window.pageSize);
  return {
    result,
    pageSize: window.pageSize,
    total,
    page: window.page,
    numPages,
    start: window.offset,
    end: result.length ? window.offset + result.length - 1 : window.offset,
    firstPageUri: uri(0),
    nextPageUri: window.page + 1 < numPages ? uri(window.page + 1) : null,
    uri: uri(window.page),
  };
}

export interface Sort<C extends string> {
  column: C;
  direction: 'ASC' | 'DESC';
}

/**
 * `SortBy=<attribute>:<asc|desc>`; attributes are matched case-insensitively against the ones the
 * list allows, so the seed's `Name` and `name` both work.
 */
export function parseSort<C extends string>(value: string | undefined, allowed: readonly C[], fallback: Sort<C>): Sort<C> {
  if (!value) return fallback;
  const [attribute, direction = 'asc', ...rest] = value.split(':');
  const column = allowed.find((name) => name.toLowerCase() === attribute.trim().toLowerCase());
  const dir = direction.trim().toLowerCase();
  if (!column || rest.length || (dir !== 'asc' && dir !== 'desc')) {
    throw AppError.invalid('SortBy', `expected <attribute>:<asc|desc> with attribute one of ${allowed.join(', ')}`);
  }
  return { column, direction: dir === 'asc' ? 'ASC' : 'DESC' };
}
