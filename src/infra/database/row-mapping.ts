import { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { SqlParams, SqlValue } from './sql';

/**
 * The columns of an entity, or of some of its properties, for plain SQL: the select list, the
 * INSERT and the row mapping all come from the entity's TypeORM metadata, with the driver's own
 * conversions (booleans, transformers), so adding a column is one edit, on the entity. Parameters
 * are named after the properties (`:to` for the `recipient` column).
 */
export class RowMapping<E extends ObjectLiteral, K extends keyof E & string = keyof E & string> {
  private readonly columns: ColumnMetadata[];

  constructor(
    private readonly dataSource: DataSource,
    private readonly entity: EntityTarget<E>,
    properties?: readonly K[],
  ) {
    const metadata = dataSource.getMetadata(entity);
    this.columns = properties ? properties.map((property) => metadata.findColumnWithPropertyName(property)!) : metadata.columns;
  }

  get table(): string {
    return this.dataSource.getMetadata(this.entity).tableName;
  }

  /** The column names, each behind `alias.` when given: for a select list or an INSERT's columns. */
  columnList(alias?: string): string {
    return this.columns.map((column) => (alias ? `${alias}.${column.databaseName}` : column.databaseName)).join(', ');
  }

  /** `SELECT <columns> FROM <table>`. */
  get select(): string {
    return `SELECT ${this.columns.map((column) => column.databaseName).join(', ')} FROM ${this.table}`;
  }

  /** `INSERT INTO <table> (<columns>) VALUES (:<property>, ...)`, bound with `params`. */
  get insert(): string {
    return `INSERT INTO ${this.table} (${this.columns.map((column) => column.databaseName).join(', ')}) VALUES (${this.columns.map((column) => `:${column.propertyName}`).join(', ')})`;
  }

  params(entity: Pick<E, K>): SqlParams {
    const params: SqlParams = {};
    for (const column of this.columns) {
      params[column.propertyName] = this.dataSource.driver.preparePersistentValue(entity[column.propertyName as K], column) as SqlValue;
    }
    return params;
  }

  fromRow(row: Record<string, unknown>): Pick<E, K> {
    const entity = {} as Record<string, unknown>;
    for (const column of this.columns) entity[column.propertyName] = this.dataSource.driver.prepareHydratedValue(row[column.databaseName], column);
    return entity as Pick<E, K>;
  }
}
