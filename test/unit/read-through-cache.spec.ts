import { ReadThroughCache } from '../../src/common/read-through-cache';

interface Row {
  version: number;
}

describe('the read-through cache of accounts and limits', () => {
  const cache = (maxEntries = 100) => new ReadThroughCache<Row>({ ttlMs: 60_000, maxEntries, maxSize: 1_000_000, sizeOf: () => 10 });

  it('lets an invalidation win over a read that was in flight: the stale row is not kept', async () => {
    const accounts = cache();
    let finishRead!: (row: Row) => void;
    const inFlight = accounts.get('AC1', () => new Promise<Row>((resolve) => (finishRead = resolve)));
    // The row changes (and is invalidated) while the old version is still on its way.
    accounts.delete('AC1');
    finishRead({ version: 1 });
    expect(await inFlight).toEqual({ version: 1 });
    let reads = 0;
    expect(await accounts.get('AC1', () => Promise.resolve({ version: 2 + reads++ }))).toEqual({ version: 2 });
    expect(await accounts.get('AC1', () => Promise.resolve({ version: 2 + reads++ }))).toEqual({ version: 2 });
    expect(reads).toBe(1);
  });

  it('never keeps a miss', async () => {
    const accounts = cache();
    let reads = 0;
    for (let i = 0; i < 3; i++) expect(await accounts.get('ACnone', () => Promise.resolve((reads++, null)))).toBeNull();
    expect(reads).toBe(3);
    expect(accounts.size).toBe(0);
  });

  it('keeps at most its entries, the least recently used leaving first', async () => {
    const accounts = cache(2);
    for (const key of ['a', 'b', 'a', 'c']) await accounts.get(key, () => Promise.resolve({ version: 1 }));
    expect(accounts.size).toBe(2);
    let reloaded = false;
    await accounts.get('b', () => ((reloaded = true), Promise.resolve({ version: 1 })));
    expect(reloaded).toBe(true);
  });

  it('clears every entry at once, and a read in flight during the clear is not kept', async () => {
    const settings = cache();
    await settings.get('a', () => Promise.resolve({ version: 1 }));
    let finishRead!: (row: Row) => void;
    const inFlight = settings.get('b', () => new Promise<Row>((resolve) => (finishRead = resolve)));
    settings.clear();
    finishRead({ version: 1 });
    await inFlight;
    expect(settings.size).toBe(0);
  });
});
