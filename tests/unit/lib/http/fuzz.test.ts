import fs from 'node:fs';
import { DynamoResultsStore } from '../../../../lib/adapters/dynamodb/resultsStore';
import { tableDefinition } from '../../../../lib/adapters/dynamodb/schema';
import { FolderObjectStore } from '../../../../lib/adapters/local/folderStore';
import { type LocalTable, openLocalTable } from '../../../../lib/adapters/local/storeAccess';
import { defaults } from '../../../../lib/config';
import { type ApiContext, type AuditEntry, handleApiRequest } from '../../../../lib/http';
import type { RecognitionBackend } from '../../../../lib/pipeline/backends';
import type { StageContext, StorageContext } from '../../../../lib/pipeline/stages/context';
import { fuzzer } from '../../../helpers/apiFuzz';
import { apiRequestFactory } from '../../../helpers/factories';
import { seededRandom } from '../../../helpers/localFaults';
import { tempDataDir } from '../../../helpers/localPipeline';

/**
 * Random requests thrown at the API core over a real table (dynalite, through the same DynamoDB adapter as on AWS)
 * and a folder store: whatever arrives, the answer is never a 500, an enrolment that is accepted stores its details
 * exactly as given, and no text of any request's body reaches the error log or the audit lines.
 */

const SEED = 20261202;
const REQUESTS = 600;
const TABLE = 'facepipe-fuzz';

/** Enrolment without models: every photo shows one face, whose "embedding" is a constant. */
function stagesOver(storage: StorageContext): () => Promise<StageContext> {
  const recognition = {
    name: 'onnx',
    enrol: async () => ({ embeddings: [new Float32Array([0.5, 0.5])], rekognitionFaces: [] }),
    withdraw: async () => undefined,
    forget: async () => [],
  } as unknown as RecognitionBackend;
  const analyser = {
    config: defaults,
    locateFaces: async () => ({ faces: [{ box: { x: 0, y: 0, width: 1, height: 1 }, score: 1 }], source: {} }),
    cropFaces: async () => [{}],
    encodeCrop: async () => Buffer.from('crop'),
  };
  return async () => ({ ...storage, backends: { recognition }, analyser }) as unknown as StageContext;
}

describe('the API core under random requests', () => {
  const dataDir = tempDataDir('api-fuzz');
  let dynamo: LocalTable;
  let context: ApiContext;
  const logged: string[] = [];

  beforeAll(async () => {
    dynamo = await openLocalTable(dataDir, tableDefinition(TABLE));
    const storage: StorageContext = {
      store: new FolderObjectStore(dataDir),
      results: new DynamoResultsStore(dynamo.client, TABLE),
      buckets: { ingest: 'ingest', crops: 'crops', thumbnails: 'thumbnails' },
    };
    context = {
      storage,
      stages: stagesOver(storage),
      logger: { error: (message, attributes) => logged.push(JSON.stringify({ message, ...attributes })) },
      audit: (entry: AuditEntry) => logged.push(JSON.stringify(entry)),
    };
  });

  afterAll(async () => {
    await dynamo?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`answers ${REQUESTS} random requests (seed ${SEED}) without a 500, storing exactly what it accepts`, async () => {
    // Prepare
    const next = fuzzer(seededRandom(SEED));
    const statuses = new Map<number, number>();
    const secrets: string[] = [];

    for (let i = 0; i < REQUESTS; i++) {
      const fuzz = next();
      secrets.push(...fuzz.secrets);

      // Act
      const response = await handleApiRequest(context, apiRequestFactory(fuzz.routeKey, fuzz.options));

      // Assess: never our failure; every refusal is JSON with a code.
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      const where = `request ${i} (seed ${SEED}): ${fuzz.summary}`;
      expect([where, response.statusCode]).not.toEqual([where, 500]);
      const body = JSON.parse(response.body);
      if (response.statusCode >= 400) expect([where, typeof body.error.code]).toEqual([where, 'string']);
      // An enrolment that was accepted stored the details exactly as they were given.
      if (fuzz.routeKey === 'POST /people' && response.statusCode < 300) {
        const text = fuzz.options.isBase64Encoded
          ? Buffer.from(fuzz.options.body as string, 'base64').toString('utf8')
          : (fuzz.options.body as string);
        const sent = JSON.parse(text);
        const stored = await context.storage.results.getPerson(sent.personId);
        // JSON round trip on both sides: -0 and 0 are the same number to JSON.
        const expected = JSON.parse(JSON.stringify(sent.details ?? stored?.details));
        expect([where, JSON.parse(JSON.stringify(stored?.details))]).toEqual([where, expected]);
      }
    }

    // Assess: the mix reached the store (not only refusals), and nothing of any body is in the logs.
    console.log(`fuzz statuses (seed ${SEED}): ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect((statuses.get(201) ?? 0) + (statuses.get(200) ?? 0)).toBeGreaterThan(20);
    expect(statuses.get(400)).toBeGreaterThan(100);
    const log = logged.join('\n');
    expect(logged.length).toBeGreaterThan(50);
    const leaked = secrets.filter(
      (secret) => log.includes(secret) || log.includes(JSON.stringify(secret).slice(1, -1)),
    );
    expect(leaked).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
