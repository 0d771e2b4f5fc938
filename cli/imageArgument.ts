import type { LocalPipeline } from '../lib/adapters/local/localPipeline';
import { FacepipeError } from '../lib/errors';

/**
 * Runs `action` on the image an argument names (`query --image`, `delete`): a local file names the key its real path
 * gives (`lib/adapters/local/localKeys.ts`); otherwise, or when no image has that key, the argument is the key.
 * NOT_FOUND from the last key tried.
 */
export async function onImageNamedBy<T>(
  pipeline: LocalPipeline,
  argument: string,
  action: (key: string) => Promise<T>,
): Promise<T> {
  const keys = await pipeline.keys.keysNamedBy(argument);
  for (const key of keys.slice(0, -1)) {
    try {
      return await action(key);
    } catch (error) {
      if (!(error instanceof FacepipeError && error.code === 'NOT_FOUND')) throw error;
    }
  }
  return action(keys.at(-1) ?? argument);
}
