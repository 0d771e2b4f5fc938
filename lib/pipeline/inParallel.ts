/**
 * Runs `work` on every item with at most `limit` calls in flight, and resolves when all are done (rejects with the
 * first error, after the calls in flight have settled). For independent store and table calls: a photo's crops,
 * thumbnails and face records are written together instead of one round trip after another.
 */
export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>) {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length && errors.length === 0) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

/** Store and table calls a stage keeps in flight at once. */
export const IO_PARALLELISM = 8;
