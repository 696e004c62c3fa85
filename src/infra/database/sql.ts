import type { Database, Statement } from 'better-sqlite3';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { DataSource } from 'typeorm';

export type SqlValue = string | number | boolean | null;

/**
 * Plain SQL for the hot paths (send, verify, delivery), straight to the driver: prepared
 * statements on MySQL (mysql2 `execute`) and cached prepared statements on SQLite. TypeORM's
 * query builders cost more CPU per query than the database does here; everything else keeps
 * using TypeORM. The SQL must be portable: `?` placeholders, no quoting, no dialect functions.
 */
export abstract class Sql {
  abstract rows<T>(sql: string, params: SqlValue[]): Promise<T[]>;
  /** Runs a write; resolves with the number of rows it changed. */
  abstract run(sql: string, params: SqlValue[]): Promise<number>;

  static for(dataSource: DataSource): Sql {
    const driver = dataSource.driver as unknown as { pool?: { promise(): Pool }; databaseConnection?: Database };
    if (dataSource.options.type === 'better-sqlite3') return new SqliteSql(driver.databaseConnection!);
    return new MysqlSql(driver.pool!.promise());
  }
}

class MysqlSql extends Sql {
  constructor(private readonly pool: Pool) {
    super();
  }

  async rows<T>(sql: string, params: SqlValue[]): Promise<T[]> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(sql, params);
    return rows as T[];
  }

  async run(sql: string, params: SqlValue[]): Promise<number> {
    const [result] = await this.pool.execute<ResultSetHeader>(sql, params);
    return result.affectedRows;
  }
}

class SqliteSql extends Sql {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Database) {
    super();
  }

  rows<T>(sql: string, params: SqlValue[]): Promise<T[]> {
    return attempt(() => this.statement(sql).all(...params.map(sqlite)) as T[]);
  }

  run(sql: string, params: SqlValue[]): Promise<number> {
    return attempt(() => this.statement(sql).run(...params.map(sqlite)).changes);
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** better-sqlite3 binds no booleans. */
function sqlite(value: SqlValue): SqlValue {
  return typeof value === 'boolean' ? Number(value) : value;
}

/** better-sqlite3 is synchronous; its errors become rejections like mysql2's. */
function attempt<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
