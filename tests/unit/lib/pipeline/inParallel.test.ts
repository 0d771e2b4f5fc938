import { inParallel } from '../../../../lib/pipeline/inParallel';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('inParallel', () => {
  it('runs every item with at most `limit` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await inParallel([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await tick();
      done.push(n);
      inFlight--;
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('rejects with the first error once the calls in flight have settled, and starts no more', async () => {
    const started: number[] = [];
    let settled = 0;
    const run = inParallel([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      await tick();
      settled++;
      if (n === 2) throw new Error('put failed');
    });
    await expect(run).rejects.toThrow('put failed');
    expect(settled).toBe(started.length);
    expect(started).toEqual([1, 2, 3]);
  });

  it('does nothing for no items', async () => {
    await expect(inParallel([], 4, () => Promise.reject(new Error('never')))).resolves.toBeUndefined();
  });
});
