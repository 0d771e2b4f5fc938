import fs from 'node:fs/promises';
import path from 'node:path';
import { readFileOrRefuse } from '../../lib/adapters/local/fileWithin';
import type { FacepipeConfig } from '../../lib/config';
import { FacepipeError } from '../../lib/errors';
import { validateDetails } from '../../lib/pipeline/details';
import { removePerson } from '../../lib/pipeline/erasure';
import { numberTokens } from '../../lib/pipeline/jsonSource';
import { enrolPerson } from '../../lib/pipeline/people';
import { jsonLine, printable, quoteValue } from '../../lib/printable';
import { openJoined } from '../openPipeline';
import { formatTable } from '../table';
import { printErasure } from './delete';

function parseDetails(flags: { details?: string; detailsFile?: string }): Promise<unknown> | unknown {
  const parse = (text: string, where: string) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new FacepipeError('INVALID_OPTION', `${where} is not valid JSON: ${(error as Error).message}`);
    }
    // Checked against the text too: parsing loses what some numbers said (1e-400 became 0).
    return validateDetails(value, numberTokens(text));
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

export async function addPersonCommand(
  personId: string,
  photos: string[],
  flags: { name?: string; details?: string; detailsFile?: string; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const details = (await parseDetails(flags)) as Record<string, unknown> | undefined;
  const loaded = [];
  for (const photo of photos) {
    loaded.push({ name: path.basename(photo), bytes: await readFileOrRefuse(photo, config.decode.maxBytes) });
  }
  const pipeline = await openJoined('people add', flags.dataDir, config, { models: true });
  try {
    const person = await enrolPerson(pipeline.context, { personId, name: flags.name, details, photos: loaded });
    process.stdout.write(
      `enrolled ${person.personId} (${printable(person.name)}): ${person.embeddings.length} face embedding(s) from ` +
        `${person.photos.map((photo) => printable(photo)).join(', ')}\n`,
    );
    return 0;
  } finally {
    await pipeline.close();
  }
}

export async function listPeopleCommand(flags: { json?: boolean; dataDir: string }, config: FacepipeConfig) {
  const pipeline = await openJoined('people list', flags.dataDir, config);
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
  const pipeline = await openJoined('people show', flags.dataDir, config);
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
  const pipeline = await openJoined('people remove', flags.dataDir, config);
  try {
    const report = await removePerson(pipeline, personId, { erase: flags.erase });
    printErasure(report, flags.json);
    if (!flags.erase && !flags.json) {
      process.stdout.write('Their faces are now unknown; use --erase to delete every face recognised as them.\n');
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}
