import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { moveFace, rejectFace } from '../../lib/pipeline/corrections';
import { jsonLine, printable } from '../../lib/printable';

/** `facepipe faces reject <faceId> [--person P]`: "not this person" (or, for an unknown face, not this cluster). */
export async function rejectFaceCommand(
  faceId: string,
  flags: { person?: string; json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    const result = await rejectFace(pipeline.storage, pipeline.recognition, faceId, flags.person);
    if (flags.json) process.stdout.write(jsonLine(result));
    else {
      const not = result.notPerson ? `person ${printable(result.notPerson)}` : `cluster ${result.notCluster}`;
      process.stdout.write(
        `face ${faceId} is not ${not} (kept through re-matching, enrolments and consolidation); ` +
          `${result.cluster ? `now in cluster ${result.cluster}` : 'now unknown, in no cluster'}\n`,
      );
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}

/** `facepipe faces move <faceId> --person P`: the face is P's. */
export async function moveFaceCommand(
  faceId: string,
  flags: { person: string; json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    const result = await moveFace(pipeline.storage, pipeline.recognition, faceId, flags.person);
    if (flags.json) process.stdout.write(jsonLine(result));
    else {
      process.stdout.write(
        `face ${faceId} is ${printable(result.personId)}'s now${result.from ? ` (was ${printable(result.from)}'s)` : ''}\n`,
      );
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}
