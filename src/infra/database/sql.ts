import type { Database, Statement } from 'better-sqlite3';
import { format, type Pool, type ResultSetHeader } from 'mysql2';
import { DataSource } from 'typeorm';

export type SqlValue = string | number | boolean | null;
export type SqlStatement = [sql: string, params: SqlValue[]];

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
  /**
   * Runs writes in order in one round trip (MySQL: one multi-statement query, each statement
   * committed on its own; SQLite: one transaction, so one WAL commit); resolves with the rows each changed.
   */
  abstract runAll(statements: SqlStatement[]): Promise<number[]>;

  static for(dataSource: DataSource): Sql {
    const driver = dataSource.driver as unknown as { pool?: Pool; databaseConnection?: Database };
    if (dataSource.options.type === 'better-sqlite3') return new SqliteSql(driver.databaseConnection!);
    return new MysqlSql(driver.pool!);
  }
}

/** On mysql2's callback API: its promise wrapper captures a stack trace for every query. */
class MysqlSql extends Sql {
  constructor(private readonly pool: Pool) {
    super();
  }

  rows<T>(sql: string, params: SqlValue[]): Promise<T[]> {
    return this.execute<T[]>(sql, params);
  }

  run(sql: string, params: SqlValue[]): Promise<number> {
    return this.execute<ResultSetHeader>(sql, params).then((result) => result.affectedRows);
  }

  /** A prepared statement (mysql2 `execute`), as a promise. */
  private execute<T>(sql: string, params: SqlValue[]): Promise<T> {
    return new Promise((resolve, reject) => this.pool.execute(sql, params, (error, result) => (error ? reject(error) : resolve(result as T))));
  }

  /** Needs `multipleStatements` on the pool; the values are escaped by mysql2's `format`. */
  runAll(statements: SqlStatement[]): Promise<number[]> {
    const text = statements.map(([sql, params]) => format(sql, params)).join(';\n');
    return new Promise((resolve, reject) =>
      this.pool.query(text, (error, results) => (error ? reject(error) : resolve([results as ResultSetHeader | ResultSetHeader[]].flat().map((result) => result.affectedRows)))),
    );
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
    return attempt(() => this.write(sql, params));
  }

  runAll(statements: SqlStatement[]): Promise<number[]> {
    return attempt(() => this.db.transaction(() => statements.map(([sql, params]) => this.write(sql, params)))());
  }

  private write(sql: string, params: SqlValue[]): number {
    return this.statement(sql).run(...params.map(sqlite)).changes;
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
