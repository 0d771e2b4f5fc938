import { readFileOrRefuse } from '../../lib/adapters/local/fileWithin';
import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { FacepipeError } from '../../lib/errors';
import { MAX_SEARCH_RESULTS, type SearchResult, searchByPhoto } from '../../lib/pipeline/search';
import { jsonLine } from '../../lib/printable';
import { formatTable } from '../table';
import { whoText } from './query';

export function parseSearchLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const limit = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_SEARCH_RESULTS)) {
    throw new FacepipeError('INVALID_OPTION', `--limit must be a whole number from 1 to ${MAX_SEARCH_RESULTS}.`);
  }
  return limit;
}

/** The hits as a readable table, most alike first. */
export function hitsTable(result: SearchResult): string {
  const columns = [
    { header: 'similarity', align: 'right' as const },
    { header: 'detected at' },
    { header: 'image', max: 60 },
    { header: '#', align: 'right' as const },
    { header: 'who', max: 40 },
  ];
  const rows = result.hits.map(({ similarity, face }) => [
    similarity.toFixed(3),
    face.detectedAt,
    face.image,
    String(face.index),
    whoText(face),
  ]);
  return `${formatTable(columns, rows)}${result.hits.length} face(s) alike the largest of ${result.query.faces} face(s) in the photo\n`;
}

/** `facepipe search <photo>`: the stored faces most alike the photo's largest face, known and unknown. */
export async function searchCommand(
  photo: string,
  flags: { limit?: string; json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const limit = parseSearchLimit(flags.limit);
  const bytes = await readFileOrRefuse(photo, config.decode.maxBytes);
  const pipeline = await LocalPipeline.open({
    dataDir: flags.dataDir,
    config: { ...config, ageGender: false },
    consume: false,
  });
  try {
    const result = await searchByPhoto(pipeline.context, bytes, { limit });
    if (flags.json) for (const hit of result.hits) process.stdout.write(jsonLine(hit));
    else process.stdout.write(hitsTable(result));
    return 0;
  } finally {
    await pipeline.close();
  }
}
