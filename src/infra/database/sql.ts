import { Logger } from '@nestjs/common';
import type { Database, Statement } from 'better-sqlite3';
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2';
import { escape } from 'sql-escaper';
import { DataSource } from 'typeorm';

export type SqlValue = string | number | boolean | null;
export type SqlParams = Record<string, SqlValue>;
/**
 * One statement; in a transaction, `ifChanged` makes it conditional: it runs only when the
 * statement at that index changed rows, and counts 0 otherwise (an event recorded only when the
 * state change it reports happened).
 */
export type SqlStatement = [sql: string, params: SqlParams, ifChanged?: number];

/**
 * Plain SQL for the hot paths (send, verify, delivery), straight to the driver: prepared
 * statements on MySQL (mysql2 `execute`) and cached prepared statements on SQLite. TypeORM's
 * query builders cost more CPU per query than the database does here; everything else keeps
 * using TypeORM. The SQL must be portable: `:name` parameters (as TypeORM's), no quoting, no
 * dialect functions. Values travel as bound parameters, except in a MySQL transaction's batched
 * statements, which write them in with an escaping no sql_mode can break (see `written`).
 *
 * A write that InnoDB ends with a deadlock runs again (see `retryingDeadlocks`). That is safe for
 * every caller because a write here is a fixed list of statements with bound values: nobody reads
 * between them, and whether a conditional one runs (`ifChanged`) is decided afresh from what that
 * run changed, so a second run is the first one again, after InnoDB undid it.
 */
export abstract class Sql {
  abstract rows<T>(sql: string, params: SqlParams): Promise<T[]>;
  /** Runs a write; resolves with the number of rows it changed. */
  abstract run(sql: string, params: SqlParams): Promise<number>;
  /**
   * Runs writes in order in one transaction: all of them take effect, or none. Resolves with the
   * rows each changed. A statement with `ifChanged` is skipped (0) unless that earlier one changed rows.
   * `beforeCommit` runs once the statements have, just before COMMIT; when it throws, all roll back.
   */
  abstract transaction(statements: SqlStatement[], beforeCommit?: () => void): Promise<number[]>;
  /**
   * A write, then a read, in one round trip: resolves with the rows the write changed and what
   * the read found. Not a transaction: the read sees the write and whatever else has committed.
   */
  abstract runThenRead<T>(write: SqlStatement, read: SqlStatement): Promise<[changed: number, rows: T[]]>;

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

  rows<T>(sql: string, params: SqlParams): Promise<T[]> {
    return execute<T[]>(this.pool, sql, params);
  }

  run(sql: string, params: SqlParams): Promise<number> {
    return retryingDeadlocks('statement', () => execute<ResultSetHeader>(this.pool, sql, params).then((result) => result.affectedRows));
  }

  transaction(statements: SqlStatement[], beforeCommit?: () => void): Promise<number[]> {
    return retryingDeadlocks('transaction', () => this.once(statements, beforeCommit));
  }

  runThenRead<T>(write: SqlStatement, read: SqlStatement): Promise<[changed: number, rows: T[]]> {
    return retryingDeadlocks('statement', async () => {
      const [result, rows] = await query<[ResultSetHeader, T[]]>(this.pool, [written(write), written(read)]);
      return [result.affectedRows, rows];
    });
  }

  /**
   * The statements travel as few round trips as their conditions allow: START TRANSACTION and the
   * statements in one multi-statement query, cut before a statement whose condition (`ifChanged`)
   * waits on that query's answer; then COMMIT on its own, after `beforeCommit`, so that a request
   * past its deadline still rolls back. Each round trip costs more CPU here than the statements
   * themselves (BENCHMARKS.md). Values are written in (`written`); a statement that fails stops
   * the query there, and the transaction rolls back.
   */
  private async once(statements: SqlStatement[], beforeCommit?: () => void): Promise<number[]> {
    const connection = await new Promise<PoolConnection>((resolve, reject) => this.pool.getConnection((error, c) => (error ? reject(error) : resolve(c))));
    let reusable = true;
    try {
      const changed: number[] = [];
      let head = ['START TRANSACTION'];
      let pending: number[] = [];
      const send = async (): Promise<void> => {
        const texts = [...head, ...pending.map((index) => written(statements[index]))];
        const results = await query<ResultSetHeader[]>(connection, texts);
        pending.forEach((index, k) => (changed[index] = results[head.length + k].affectedRows));
        head = [];
        pending = [];
      };
      for (const [index, [, , ifChanged]] of statements.entries()) {
        if (ifChanged !== undefined && pending.includes(ifChanged)) await send();
        if (skipped(changed, ifChanged)) changed[index] = 0;
        else pending.push(index);
      }
      if (head.length || pending.length) await send();
      beforeCommit?.();
      await query(connection, ['COMMIT']);
      return changed;
    } catch (error) {
      // A connection that cannot even roll back is dropped, not returned to the pool; the server
      // rolls back what it held when the connection goes.
      await query(connection, ['ROLLBACK']).catch(() => {
        reusable = false;
        connection.destroy();
      });
      throw error;
    } finally {
      if (reusable) connection.release();
    }
  }
}

/** Runs after a deadlock: five times more at most, 5–15 ms later, then twice as long each time (under 0.5 s in all). */
const DEADLOCK_RETRIES = 5;
const DEADLOCK_DELAY_MS = 10;
const logger = new Logger('Sql');

/**
 * InnoDB breaks a lock cycle by rolling one of its transactions back whole (errno 1213,
 * ER_LOCK_DEADLOCK; a single statement is a transaction of its own): nothing of it is left, and
 * the same statements may simply run again, once the other transaction has gone on; a short
 * random pause keeps two victims from meeting again at once. Reads need none of this: a plain
 * SELECT reads a snapshot and takes no locks.
 *
 * A lock wait timeout (1205) is not retried: it ends a wait that has lasted
 * innodb_lock_wait_timeout (50 s by default, far past the request timeout), a lock held by
 * something stuck rather than a cycle, and waiting that long again would only hold a
 * connection. It fails, and the client is asked to retry later (503, Retry-After).
 *
 * SQLite needs none of it: the process has one connection and runs a transaction at once,
 * synchronously; another process writing to the file is waited for by better-sqlite3's busy
 * timeout (5 s) before SQLITE_BUSY, which is a 503 too.
 */
async function retryingDeadlocks<T>(what: string, work: () => Promise<T>): Promise<T> {
  for (let retry = 1; ; retry++) {
    try {
      return await work();
    } catch (error) {
      if (!isDeadlock(error) || retry > DEADLOCK_RETRIES) throw error;
      const delayMs = Math.round(DEADLOCK_DELAY_MS * 2 ** (retry - 1) * (0.5 + Math.random()));
      logger.warn(`deadlock: the database rolled a ${what} back; running it again in ${delayMs} ms (retry ${retry} of ${DEADLOCK_RETRIES})`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

function isDeadlock(error: unknown): boolean {
  return (error as { errno?: unknown } | null)?.errno === 1213;
}

type Executor = Pick<Pool, 'execute'>;

/** A prepared statement (mysql2 `execute`) with `:name` parameters, as a promise. */
function execute<T>(on: Executor, sql: string, values: SqlParams): Promise<T> {
  return new Promise((resolve, reject) => on.execute({ sql, values, namedPlaceholders: true }, (error, result) => (error ? reject(error) : resolve(result as T))));
}

const EITHER_MODE = { noBackslashEscapes: true } as const;

/**
 * A statement with its values written in as literals. sql-escaper's `noBackslashEscapes` writes
 * each one in a form a server reads the same with or without NO_BACKSLASH_ESCAPES (a value with a
 * backslash becomes an expression that rebuilds it), so no sql_mode can let a value end its string.
 * The SQL text here is otpgate's own and has no colon inside a quoted string.
 */
function written([sql, params]: SqlStatement): string {
  return sql.replace(/:(\w+)/g, (_, name: string) => {
    if (!(name in params)) throw new Error(`no value for :${name}`);
    return escape(params[name], false, 'Z', EITHER_MODE);
  });
}

/** Statements as one query (one round trip; the pool allows multiple statements), with the result of each. */
function query<T extends unknown[]>(on: Pick<Pool, 'query'>, texts: string[]): Promise<T> {
  return new Promise((resolve, reject) =>
    on.query(texts.join(';\n'), (error, result) => (error ? reject(error) : resolve((texts.length > 1 ? result : [result]) as T))),
  );
}

class SqliteSql extends Sql {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Database) {
    super();
  }

  rows<T>(sql: string, params: SqlParams): Promise<T[]> {
    return attempt(() => this.statement(sql).all(bindable(params)) as T[]);
  }

  run(sql: string, params: SqlParams): Promise<number> {
    return attempt(() => this.write(sql, params));
  }

  transaction(statements: SqlStatement[], beforeCommit?: () => void): Promise<number[]> {
    return attempt(() =>
      this.db.transaction(() => {
        const changed: number[] = [];
        for (const [sql, params, ifChanged] of statements) changed.push(skipped(changed, ifChanged) ? 0 : this.write(sql, params));
        beforeCommit?.();
        return changed;
      })(),
    );
  }

  runThenRead<T>([sql, params]: SqlStatement, [readSql, readParams]: SqlStatement): Promise<[changed: number, rows: T[]]> {
    return attempt(() => [this.write(sql, params), this.statement(readSql).all(bindable(readParams)) as T[]]);
  }

  private write(sql: string, params: SqlParams): number {
    return this.statement(sql).run(bindable(params)).changes;
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

function skipped(changed: number[], ifChanged: number | undefined): boolean {
  return ifChanged !== undefined && !changed[ifChanged];
}

/** better-sqlite3 binds no booleans. */
function bindable(params: SqlParams): Record<string, string | number | null> {
  const bound: Record<string, string | number | null> = {};
  for (const key in params) {
    const value = params[key];
    bound[key] = typeof value === 'boolean' ? Number(value) : value;
  }
  return bound;
}

/** better-sqlite3 is synchronous; its errors become rejections like mysql2's. */
function attempt<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
