import { FacepipeError } from '../../errors';
import type { FaceIndex, FaceMatch, NearestOptions } from '../../pipeline/ports';

/** How a joined command reaches the process holding the data directory (its socket). */
export type HolderCall = (op: string, args?: unknown) => Promise<unknown>;

/**
 * The face index of a command that joined the process holding the data directory (`watch`, `run`): that process's
 * in-memory copy answers, over the data directory's socket. A copy of its own would first read every vector item of
 * the table (17.7 s at 100,000 faces, reports/face-index.md) for each one-off command.
 */
export class JoinedFaceIndex implements FaceIndex {
  constructor(private readonly call: HolderCall) {}

  async add(faceId: string, embedding: Float32Array): Promise<void> {
    await this.call('faceIndex', { op: 'add', faceId, embedding: Array.from(embedding) });
  }

  async remove(faceIds: readonly string[]): Promise<void> {
    await this.call('faceIndex', { op: 'remove', faceIds: [...faceIds] });
  }

  async nearest(embedding: Float32Array, options: NearestOptions): Promise<FaceMatch[]> {
    return (await this.call('faceIndex', { op: 'nearest', embedding: Array.from(embedding), options })) as FaceMatch[];
  }

  async size(): Promise<number> {
    return (await this.call('faceIndex', { op: 'size' })) as number;
  }
}

const isNumberList = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v));
const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string');
const bad = () => new FacepipeError('INTERNAL', 'Bad face index request.');

/** The holder's side: one request of a joined command's `JoinedFaceIndex`, checked, on its own index. */
export async function serveFaceIndex(index: FaceIndex, args: unknown): Promise<unknown> {
  const request = (typeof args === 'object' && args !== null ? args : {}) as Record<string, unknown>;
  switch (request.op) {
    case 'add':
      if (typeof request.faceId !== 'string' || !isNumberList(request.embedding)) throw bad();
      return index.add(request.faceId, Float32Array.from(request.embedding));
    case 'remove':
      if (!isStringList(request.faceIds)) throw bad();
      return index.remove(request.faceIds);
    case 'nearest': {
      const options = (request.options ?? {}) as Record<string, unknown>;
      const limit = options.limit;
      const minSimilarity = options.minSimilarity;
      if (!isNumberList(request.embedding) || typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
        throw bad();
      }
      if (minSimilarity !== undefined && typeof minSimilarity !== 'number') throw bad();
      return index.nearest(Float32Array.from(request.embedding), {
        limit,
        ...(minSimilarity === undefined ? {} : { minSimilarity }),
      });
    }
    case 'size':
      return index.size();
    default:
      throw bad();
  }
}
