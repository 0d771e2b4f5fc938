import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { FacepipeError } from '../../../../../lib/errors';
import { buildFaceApiOnnx } from '../../../../../lib/models/convert';
import { decodeOnnxModel } from '../../../../../lib/models/convert/onnxProto';
import { type ModelEntry, modelEntry, type TfjsNpmSource } from '../../../../../lib/models/manifest';

const MODELS = {
  faceapi_expression: { probs: [7] },
  faceapi_age_gender: { age: [1], gender: [2] },
  faceapi_landmark68: { landmarks: [136] },
} as const;

function convertSource(entry: ModelEntry): TfjsNpmSource {
  const source = entry.sources.find((s): s is TfjsNpmSource => s.kind === 'convert' && s.from === 'tfjs-npm');
  if (!source) throw new Error(`${entry.id} has no convert source`);
  return source;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe.each(Object.entries(MODELS))('converting %s', (id, outputs) => {
  const entry = modelEntry(id);
  const source = convertSource(entry);

  it('is deterministic and gives the sha256 the manifest records', async () => {
    const started = performance.now();
    const first = await buildFaceApiOnnx(entry, source);
    const ms = performance.now() - started;
    const second = await buildFaceApiOnnx(entry, source);
    console.info(`${id}: converted in ${ms.toFixed(0)} ms, ${first.length} bytes, sha256 ${sha256(first)}`);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    expect(sha256(first)).toBe(source.sha256);
    expect(source.sha256).not.toBe(entry.sha256);
  });

  it('has the reference input and outputs: input [N,3,112,112] → named outputs [N,k]', async () => {
    const bytes = await buildFaceApiOnnx(entry, source);
    const graph = decodeOnnxModel(bytes).graph;
    expect(graph.input.map((i) => i.name)).toEqual(['input']);
    expect(graph.input[0]!.type.tensorType.shape.dim).toEqual([
      { dimParam: 'N' },
      { dimValue: 3 },
      { dimValue: 112 },
      { dimValue: 112 },
    ]);
    expect(graph.output.map((o) => o.name)).toEqual(Object.keys(outputs));
    const session = await ort.InferenceSession.create(bytes);
    const result = await session.run({
      input: new ort.Tensor('float32', new Float32Array(3 * 3 * 112 * 112), [3, 3, 112, 112]),
    });
    for (const [name, [width]] of Object.entries(outputs)) expect(result[name]!.dims).toEqual([3, width]);
    await session.release();
  });

  it('refuses another package version with MODEL_CONVERSION_FAILED', async () => {
    const error = await buildFaceApiOnnx(entry, { ...source, version: '1.7.14' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FacepipeError);
    expect(error).toMatchObject({ code: 'MODEL_CONVERSION_FAILED' });
    expect((error as Error).message).toMatch(
      /installed @vladmandic\/face-api is version 1\.7\.15, the manifest pins 1\.7\.14/,
    );
    expect((error as Error).message).toContain(entry.file);
  });

  it('refuses weights whose sha256 differs from the manifest with MODEL_CONVERSION_FAILED', async () => {
    const pinned = '0'.repeat(64);
    const error = await buildFaceApiOnnx(entry, { ...source, weightsSha256: pinned }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_CONVERSION_FAILED' });
    expect((error as Error).message).toContain(`have sha256 ${source.weightsSha256}, the manifest pins ${pinned}`);
  });
});

describe('buildFaceApiOnnx', () => {
  it('refuses a model that is not a face-api network', async () => {
    const face = modelEntry('faceapi_expression');
    const entry: ModelEntry = { ...modelEntry('mobilefacenet_foamliu'), sources: face.sources };
    await expect(buildFaceApiOnnx(entry, convertSource(face))).rejects.toMatchObject({
      code: 'MODEL_CONVERSION_FAILED',
      message: expect.stringMatching(/no face-api network for the role embedder/),
    });
  });

  it('refuses weights that do not fit the network (the age/gender weights for the expression net)', async () => {
    const entry = modelEntry('faceapi_expression');
    const ageGender = convertSource(modelEntry('faceapi_age_gender'));
    await expect(buildFaceApiOnnx(entry, ageGender)).rejects.toMatchObject({
      code: 'MODEL_CONVERSION_FAILED',
      message: expect.stringMatching(/the weights have no dense0\/conv0\/filters/),
    });
  });

  it('refuses a package that is not installed', async () => {
    const entry = modelEntry('faceapi_expression');
    const source = { ...convertSource(entry), package: '@facepipe/no-such-package' };
    await expect(buildFaceApiOnnx(entry, source)).rejects.toMatchObject({
      code: 'MODEL_CONVERSION_FAILED',
      message: expect.stringMatching(/npm package @facepipe\/no-such-package is not installed/),
    });
  });
});
