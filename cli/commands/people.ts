import fs from 'node:fs/promises';
import path from 'node:path';
import { readFileOrRefuse } from '../../lib/adapters/local/fileWithin';
import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { FacepipeError } from '../../lib/errors';
import { mergePeople, nameCluster } from '../../lib/pipeline/corrections';
import { removePerson } from '../../lib/pipeline/erasure';
import { enrolPerson } from '../../lib/pipeline/people';
import type { JobRecord, PersonRecord } from '../../lib/pipeline/records';
import { startJob } from '../../lib/pipeline/rematch';
import { personView } from '../../lib/pipeline/views';
import { jsonLine, printable, quoteValue } from '../../lib/printable';
import { formatTable } from '../table';
import { printErasure } from './delete';

function parseDetails(flags: { details?: string; detailsFile?: string }): Promise<unknown> | unknown {
  const parse = (text: string, where: string) => {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new FacepipeError('INVALID_OPTION', `${where} is not valid JSON: ${(error as Error).message}`);
    }
  };
  if (flags.details !== undefined && flags.detailsFile !== undefined) {
    throw new FacepipeError('INVALID_OPTION', 'Give --details or --details-file, not both.');
  }
  if (flags.details !== undefined) return parse(flags.details, '--details');
  if (flags.detailsFile !== undefined) {
    const file = flags.detailsFile;
    return fs.readFile(file, 'utf8').then(
      (text) => parse(text, file),
      () => {
        throw new FacepipeError('FILE_NOT_FOUND', `No such file: ${quoteValue(file)}`);
      },
    );
  }
  return undefined;
}

/** How a re-match job ended, in a line. */
export function rematchLine(job: JobRecord): string {
  return `re-matched ${job.examined} earlier face(s) alike them: ${job.changed} now named as them\n`;
}

export async function addPersonCommand(
  personId: string,
  photos: string[],
  flags: {
    name?: string;
    details?: string;
    detailsFile?: string;
    fromCluster?: string;
    json?: boolean;
    dataDir: string;
  },
  config: FacepipeConfig,
): Promise<number> {
  const details = (await parseDetails(flags)) as Record<string, unknown> | undefined;
  if (flags.fromCluster !== undefined && photos.length > 0) {
    throw new FacepipeError('INVALID_OPTION', 'Give photos or --from-cluster, not both.');
  }
  if (flags.fromCluster === undefined && photos.length === 0) {
    throw new FacepipeError('INVALID_OPTION', 'Give enrolment photos, or --from-cluster C to name a cluster.');
  }
  const loaded = [];
  for (const photo of photos) {
    loaded.push({ name: path.basename(photo), bytes: await readFileOrRefuse(photo, config.decode.maxBytes) });
  }
  const fromCluster = flags.fromCluster;
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: !fromCluster });
  try {
    if (fromCluster) {
      const named = await nameCluster(pipeline.storage, pipeline.recognition, {
        personId,
        clusterId: fromCluster,
        name: flags.name,
        details,
      });
      const job = (await pipeline.results.getJob(named.job.jobId)) ?? named.job;
      if (flags.json) {
        const { person, ...rest } = named;
        process.stdout.write(jsonLine({ ...rest, person: personView(person), job }));
        return 0;
      }
      process.stdout.write(
        `named cluster ${named.cluster} as ${person(named.person)}: ${named.named} face(s) now theirs` +
          `${named.left > 0 ? `, ${named.left} left in the cluster (rejected for them, or they are in that photo already)` : ''}; ` +
          `${named.galleryAdded} of its most typical faces joined their gallery\n${rematchLine(job)}`,
      );
      return 0;
    }
    const enrolled = await enrolPerson(pipeline.context, { personId, name: flags.name, details, photos: loaded });
    const started = await startJob(pipeline.storage, pipeline.recognition.send, { kind: 'rematch', personId });
    const job = (await pipeline.results.getJob(started.jobId)) ?? started;
    if (flags.json) {
      process.stdout.write(jsonLine({ person: personView(enrolled), embeddings: enrolled.embeddings.length, job }));
      return 0;
    }
    process.stdout.write(
      `enrolled ${person(enrolled)}: ${enrolled.embeddings.length} face embedding(s) from ` +
        `${enrolled.photos.map((photo) => printable(photo)).join(', ')}\n${rematchLine(job)}`,
    );
    return 0;
  } finally {
    await pipeline.close();
  }
}

const person = (p: PersonRecord) => `${printable(p.personId)} (${printable(p.name)})`;

/** `facepipe people merge <from> <into>`: one person enrolled twice becomes one. */
export async function mergePeopleCommand(
  fromId: string,
  intoId: string,
  flags: { json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    const merged = await mergePeople(pipeline.storage, pipeline.recognition, fromId, intoId);
    if (flags.json) process.stdout.write(jsonLine(merged));
    else {
      process.stdout.write(
        `merged ${printable(merged.from)} into ${printable(merged.into)}: ${merged.facesMoved} face(s) and ` +
          `${merged.embeddings} enrolled embedding(s) moved` +
          `${merged.facesUnknown > 0 ? `, ${merged.facesUnknown} face(s) said not to be ${printable(merged.into)} are unknown now` : ''}\n`,
      );
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}

export async function listPeopleCommand(flags: { json?: boolean; dataDir: string }, config: FacepipeConfig) {
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    const people = await pipeline.results.listPeople();
    if (flags.json) {
      for (const p of people) {
        process.stdout.write(
          jsonLine({ personId: p.personId, name: p.name, details: p.details, embeddings: p.embeddings.length }),
        );
      }
    } else if (people.length === 0) {
      process.stdout.write('No people enrolled. Add one with "facepipe people add".\n');
    } else {
      const columns = [
        { header: 'person', max: 32 },
        { header: 'name', max: 32 },
        { header: 'photos', align: 'right' as const },
        { header: 'details' },
      ];
      const rows = people.map((p) => [
        p.personId,
        p.name,
        String(p.embeddings.length),
        p.details === undefined ? '' : JSON.stringify(p.details),
      ]);
      process.stdout.write(formatTable(columns, rows));
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}

export async function showPersonCommand(
  personId: string,
  flags: { json?: boolean; dataDir: string },
  config: FacepipeConfig,
) {
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    const person = await pipeline.results.getPerson(personId);
    if (!person) throw new FacepipeError('NOT_FOUND', `No person with id ${quoteValue(personId)}.`);
    const faces = await pipeline.results.facesOfPerson(personId);
    const view = {
      personId: person.personId,
      name: person.name,
      details: person.details,
      enrolmentPhotos: person.photos,
      createdAt: person.createdAt,
      updatedAt: person.updatedAt,
      faces: faces.map((f) => ({
        image: f.sourceKey,
        faceId: f.faceId,
        similarity: f.identity?.similarity,
        at: f.detectedAt,
      })),
    };
    if (flags.json) process.stdout.write(jsonLine(view));
    else {
      process.stdout.write(
        `${printable(view.personId)}: ${printable(view.name)}\n  details: ${printable(JSON.stringify(view.details) ?? '')}\n`,
      );
      process.stdout.write(
        `  enrolled from: ${view.enrolmentPhotos.map((photo) => printable(photo)).join(', ')}\n` +
          `  seen in ${faces.length} face(s):\n`,
      );
      for (const f of view.faces) {
        process.stdout.write(`    ${f.at}  ${printable(f.image)}  (similarity ${f.similarity})\n`);
      }
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}

export async function removePersonCommand(
  personId: string,
  flags: { erase?: boolean; json?: boolean; dataDir: string },
  config: FacepipeConfig,
) {
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    const { recognition } = pipeline;
    const report = await removePerson(pipeline.storage, personId, {
      erase: flags.erase,
      // Their faces are unknown now: back into clusters.
      recluster: async (faces) => {
        await startJob(pipeline.storage, recognition.send, { kind: 'recluster', faceIds: faces.map((f) => f.faceId) });
      },
    });
    printErasure(report, flags.json);
    if (!flags.erase && !flags.json) {
      process.stdout.write('Their faces are now unknown; use --erase to delete every face recognised as them.\n');
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}
