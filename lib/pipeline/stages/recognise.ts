import type { ObjectCreatedEvent } from '../ports';
import { assignIdentities, type GalleryCache } from '../recognition';
import type { FaceRecord, Identity } from '../records';
import type { StageContext } from './context';
import { loadCrop, openStoredCrop } from './faceCrop';

export type RecogniseOutcome =
  | { status: 'done'; faceId: string; identity: Identity }
  | { status: 'stale'; reason: string };

/**
 * The recognise stage: a face crop → identity on its face record. Every face of the photo takes part in the
 * decision (no person is given to two faces of one photo), so the stage embeds the sibling faces too, reusing the
 * embeddings their own events already stored. Each event writes only its own face, and the decision is a
 * deterministic function of the photo's faces and the gallery, so concurrent events agree without coordination.
 */
export async function recogniseStage(
  context: StageContext,
  gallery: GalleryCache,
  event: ObjectCreatedEvent,
): Promise<RecogniseOutcome> {
  const found = await loadCrop(context, event);
  if (found.status === 'stale') return found;
  const face = found.record;
  const [own] = await context.analyzer.embedFaces([found.crop]);
  if (!own) throw new Error('the embedder returned no result');
  const version = face.crop.key.split('/')[1];
  const siblings = (await context.table.facesOfImage(face.imageId)).filter((f) => f.crop.key.split('/')[1] === version);
  const embeddings: Float32Array[] = [];
  for (const sibling of siblings) {
    embeddings.push(sibling.index === face.index ? own : await siblingEmbedding(context, sibling));
  }
  const identities = assignIdentities(embeddings, await gallery.current(), context.analyzer.config.matchThreshold);
  const identity = identities[siblings.findIndex((s) => s.index === face.index)];
  if (!identity) throw new Error('the face is missing from its own photo');
  const written = await context.table.setIdentity(face, event.key, identity, own);
  if (!written) return { status: 'stale', reason: 'the face changed while it was recognised' };
  return { status: 'done', faceId: face.faceId, identity };
}

async function siblingEmbedding(context: StageContext, sibling: FaceRecord): Promise<Float32Array> {
  if (sibling.embedding) return sibling.embedding;
  // Its crop may still be on its way (the detect stage writes them one by one): throwing retries later.
  const crop = await openStoredCrop(context, sibling);
  if (!crop) throw new Error(`the crop of face ${sibling.faceId} is not there yet`);
  const [embedding] = await context.analyzer.embedFaces([crop]);
  if (!embedding) throw new Error('the embedder returned no result');
  return embedding;
}
