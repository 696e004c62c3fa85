import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { Account } from './account.entity';

/**
 * Restricts a list to one account's records, or (`subAccounts`) to those of its whole subtree:
 * the one place lists (limits, sessions, usage) scope by account.
 */
export function whereInScope<T extends ObjectLiteral>(builder: SelectQueryBuilder<T>, column: string, account: Account, subAccounts = false): SelectQueryBuilder<T> {
  return subAccounts
    ? builder.andWhere(`${column} IN (SELECT scope.sid FROM account scope WHERE scope.path LIKE :scopePrefix)`, { scopePrefix: `${account.path}%` })
    : builder.andWhere(`${column} = :scopeSid`, { scopeSid: account.sid });
}
