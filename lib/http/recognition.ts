import { FacepipeError } from '../errors';
import type { Recognition } from '../pipeline/corrections';
import type { ApiContext } from './types';

/** The context's recognition tools, or our own failure (500) when the composition root gave none. */
export function recognitionOf(context: ApiContext): Recognition {
  if (!context.recognition) throw new FacepipeError('INTERNAL', 'This API was composed without recognition jobs.');
  return context.recognition();
}
