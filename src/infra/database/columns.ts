import { Column, ColumnOptions } from 'typeorm';

/**
 * Timestamps are stored as epoch milliseconds in a BIGINT: the same SQL compares, sorts and groups
 * them by day on MySQL and SQLite, with no time-zone conversion in any driver.
 */
export function TimestampColumn(options: Pick<ColumnOptions, 'nullable' | 'name'> = {}): PropertyDecorator {
  return Column({
    type: 'bigint',
    ...options,
    transformer: { to: (value?: number | null) => value, from: (value: string | number | null) => (value === null ? null : Number(value)) },
  });
}
