import { describe, expect, it } from 'vitest';
import { StoreCount } from '../../src/http/limits/store-count.js';

describe('StoreCount', () => {
  it('keeps creates in flight counted across a refresh that cannot see them yet', async () => {
    let inStore = 3;
    const count = new StoreCount(() => Promise.resolve(inStore));
    await count.refresh();
    let finish!: (outcome: { created: boolean }) => void;
    const create = count.counting(() => new Promise<{ created: boolean }>((resolve) => (finish = resolve)));
    // The store has not written the job yet: a refresh now reads 3, and the one in flight still counts.
    await count.refresh();
    expect(count.current()).toBe(4);
    inStore = 4;
    finish({ created: true });
    await create;
    expect(count.current()).toBe(4);
    await count.refresh();
    expect(count.current()).toBe(4);
  });

  it('counts a replay (nothing created) as nothing once it is answered', async () => {
    const count = new StoreCount(() => Promise.resolve(0));
    await count.refresh();
    await count.counting(() => Promise.resolve({ created: false }));
    expect(count.current()).toBe(0);
  });
});
