import { Command } from 'commander';
import { loadConfig } from '../lib/config';
import { describeError } from '../lib/errors';
import { OPTIONS, optionFromEnv } from '../lib/options';
import { printable } from '../lib/printable';
import { analyzeCommand } from './commands/analyze';
import {
  consolidateClustersCommand,
  listClustersCommand,
  showClusterCommand,
  splitClusterCommand,
} from './commands/clusters';
import { compareCommand } from './commands/compare';
import { listDeadLettersCommand, redriveDeadLettersCommand } from './commands/deadLetters';
import { deleteImageCommand } from './commands/delete';
import { addDeviceCommand, listDevicesCommand, revokeDeviceCommand, rotateDeviceCommand } from './commands/devices';
import { moveFaceCommand, rejectFaceCommand } from './commands/faces';
import { convertModelCommand, fetchModelsCommand, listModelsCommand } from './commands/models';
import {
  addPersonCommand,
  listPeopleCommand,
  mergePeopleCommand,
  removePersonCommand,
  showPersonCommand,
} from './commands/people';
import { pushCommand } from './commands/push';
import { queryCommand } from './commands/query';
import { runCommand } from './commands/run';
import { searchCommand } from './commands/search';
import { serveCommand } from './commands/serve';
import { watchCommand } from './commands/watch';
import { addGlobalOptions, cliOption, configOverridesFromFlags, dataDirFrom } from './options';

export function buildProgram(): Command {
  const program = addGlobalOptions(
    new Command('facepipe')
      .description('Find every face in images: box, landmarks, emotion, identity embedding, age and gender.')
      .showHelpAfterError()
      // Commander's own errors echo what was typed (an unknown option, a stray argument).
      .configureOutput({ outputError: (text, write) => write(printable(text, { keepNewlines: true })) }),
  );

  const config = () => loadConfig(configOverridesFromFlags(program));
  const dataDir = () => dataDirFrom(program);
  const exit = (code: number) => {
    process.exitCode = code;
  };

  program
    .command('analyze')
    .description('analyze images and folders: one result per file; a bad file never stops the rest')
    .argument('<paths...>', 'image files or folders (searched recursively)')
    .option('--json', 'one JSON object per line and per input')
    .option('--embeddings', 'include the 128-d identity embedding of each face (with --json)')
    .option('--assume-face', 'treat each whole image as one face crop (skip the detector)')
    .option('--crops <dir>', 'write a crop of every face into this folder')
    .action(async (paths: string[], flags) => {
      exit(await analyzeCommand(paths, flags, config()));
    });

  program
    .command('compare')
    .description('similarity of the largest face in two images, and whether they are the same person')
    .argument('<a>')
    .argument('<b>')
    .option('--json', 'print JSON')
    .action(async (a: string, b: string, flags) => {
      exit(await compareCommand(a, b, flags, config()));
    });

  program
    .command('run')
    .description('process images through the whole local pipeline: faces, crops, emotions, identities, thumbnails')
    .argument('<paths...>', 'image files or folders (searched recursively)')
    .option('--force', 'process again images already done')
    .addOption(cliOption(OPTIONS.workers))
    .option('--json', 'print the summary as JSON')
    .action(async (paths: string[], flags) => {
      exit(await runCommand(paths, { ...flags, dataDir: dataDir() }, config()));
    });

  program
    .command('watch')
    .description('keep running: process every image dropped into the ingest folder (Ctrl-C stops cleanly)')
    .argument('[folder]', 'folder to watch (default: the ingest bucket folder of the data directory)')
    .addOption(cliOption(OPTIONS.workers))
    .option('--sightings', 'print a line for every photo fully analysed: who was seen, how alike, which emotion')
    .action(async (folder: string | undefined, flags) => {
      exit(
        await watchCommand(
          folder,
          { workers: flags.workers, sightings: flags.sightings, dataDir: dataDir() },
          config(),
        ),
      );
    });

  program
    .command('serve')
    .description(
      'the local pipeline (the watch loop) and the HTTP API on one port: admin routes (admin token in the data ' +
        'directory), device routes and uploads, POST /analyze, sightings as Server-Sent Events (GET /events)',
    )
    .addOption(cliOption(OPTIONS.servePort))
    .addOption(cliOption(OPTIONS.serveHost))
    .option('--allow-remote-admin', 'accept the admin token from other machines too (with --host beyond loopback)')
    .addOption(cliOption(OPTIONS.workers))
    .option('--sightings', 'print a line for every photo fully analysed')
    .action(async (flags) => {
      const env = process.env;
      exit(
        await serveCommand(
          {
            dataDir: dataDir(),
            workers: flags.workers,
            port: flags.port ?? optionFromEnv(OPTIONS.servePort, env) ?? OPTIONS.servePort.default,
            host: flags.host ?? optionFromEnv(OPTIONS.serveHost, env) ?? OPTIONS.serveHost.default,
            allowRemoteAdmin: flags.allowRemoteAdmin,
            sightings: flags.sightings,
          },
          config(),
        ),
      );
    });

  const devices = program
    .command('devices')
    .description('the devices that upload with a token and read their own results (facepipe serve; on AWS: /devices)');
  devices
    .command('add')
    .description('create a device and print its token, once')
    .argument('<name>', 'device name: letters, digits, ".", "_" or "-"')
    .option('--prefix <folder>', 'a sub-folder of its own folder devices/<name>/ for its uploads')
    .option('--can <permissions>', 'what it may do, comma-separated: analyse, upload, results (default: all)')
    .option('--expires-in <days>', 'the token stops working after this many days (default: never; rotate renews)')
    .option('--json', 'JSON')
    .action(async (name: string, flags) =>
      exit(await addDeviceCommand(name, { ...flags, dataDir: dataDir() }, config())),
    );
  devices
    .command('list')
    .description('every device: status, folder, permissions, when its token was issued and expires (never a token)')
    .option('--json', 'JSON lines')
    .action(async (flags) => exit(await listDevicesCommand({ ...flags, dataDir: dataDir() }, config())));
  devices
    .command('revoke')
    .description('revoke a device: its token stops working at once; its uploads and results stay')
    .argument('<name>')
    .option('--json', 'JSON')
    .action(async (name: string, flags) =>
      exit(await revokeDeviceCommand(name, { ...flags, dataDir: dataDir() }, config())),
    );
  devices
    .command('rotate')
    .description('a new token for a device (printed once); the old one stops working at once')
    .argument('<name>')
    .option('--expires-in <days>', 'the new token stops working after this many days')
    .option('--json', 'JSON')
    .action(async (name: string, flags) =>
      exit(await rotateDeviceCommand(name, { ...flags, dataDir: dataDir() }, config())),
    );

  program
    .command('push')
    .description(
      'a device client: upload images (or frames of a video) with a device token, wait for the results, print who was seen',
    )
    .argument('[paths...]', 'image files or folders')
    .option(
      '--endpoint <url>',
      'the API: facepipe serve (http://127.0.0.1:8787) or the HttpApiUrl on AWS (env FACEPIPE_ENDPOINT)',
    )
    .option('--token <token>', 'the device token (env FACEPIPE_DEVICE_TOKEN, which keeps it out of the process list)')
    .option('--video <file>', 'sample frames from a recorded video and send them as a camera would')
    .option('--every <interval>', 'with --video: one frame every interval (0.5s, 500ms, 2; default 1s)')
    .option('--wait <seconds>', 'how long each request for results waits on the server, 0 to 20 (default 20)')
    .option('--json', 'one JSON line per image')
    .action(async (paths: string[], flags) => exit(await pushCommand(paths, flags)));

  const people = program.command('people').description('the people facepipe recognises');
  people
    .command('add')
    .description(
      'enrol a person from photos that each show exactly their face, or from a cluster of unknown faces; then ' +
        'earlier unknown faces alike them are re-matched',
    )
    .argument('<id>', 'person id: letters, digits, ".", "_" or "-"')
    .argument('[photos...]')
    .option('--name <name>', 'display name (required for a new person)')
    .option('--details <json>', 'free-form details as a JSON object')
    .option('--details-file <file>', 'details from a JSON file')
    .option(
      '--from-cluster <cluster>',
      "name a cluster: its faces become the person's, its most typical join the gallery",
    )
    .option('--json', 'JSON')
    .action(async (id: string, photos: string[], flags) => {
      exit(await addPersonCommand(id, photos, { ...flags, dataDir: dataDir() }, config()));
    });
  people
    .command('list')
    .option('--json', 'JSON lines')
    .action(async (flags) => exit(await listPeopleCommand({ ...flags, dataDir: dataDir() }, config())));
  people
    .command('show')
    .argument('<id>')
    .option('--json', 'JSON')
    .action(async (id: string, flags) => exit(await showPersonCommand(id, { ...flags, dataDir: dataDir() }, config())));
  people
    .command('merge')
    .description('one person enrolled twice: <from> becomes <into> (gallery, faces, rejections), <from> is removed')
    .argument('<from>')
    .argument('<into>')
    .option('--json', 'JSON')
    .action(async (from: string, into: string, flags) =>
      exit(await mergePeopleCommand(from, into, { ...flags, dataDir: dataDir() }, config())),
    );
  people
    .command('remove')
    .description('remove a person from the gallery; with --erase also every face recognised as them')
    .argument('<id>')
    .option('--erase', 'erase every crop, thumbnail and record of their faces too')
    .option('--json', 'JSON')
    .action(async (id: string, flags) =>
      exit(await removePersonCommand(id, { ...flags, dataDir: dataDir() }, config())),
    );

  const faces = program.command('faces').description('correct who a face is');
  faces
    .command('reject')
    .description(
      '"not this person": the face leaves the person (or, with no person, its cluster) and never goes back, ' +
        'through re-matching, new enrolments and consolidation',
    )
    .argument('<faceId>')
    .option('--person <id>', 'the person it is not (default: the one it is named as)')
    .option('--json', 'JSON')
    .action(async (faceId: string, flags) =>
      exit(await rejectFaceCommand(faceId, { ...flags, dataDir: dataDir() }, config())),
    );
  faces
    .command('move')
    .description('the face is this person (it leaves its cluster; a rejection of them for it is forgotten)')
    .argument('<faceId>')
    .requiredOption('--person <id>', 'the person it is')
    .option('--json', 'JSON')
    .action(async (faceId: string, flags) =>
      exit(await moveFaceCommand(faceId, { ...flags, dataDir: dataDir() }, config())),
    );

  const clusters = program.command('clusters').description('clusters of unknown faces, with stable ids');
  clusters
    .command('list')
    .description('the clusters, most recently changed first')
    .addOption(cliOption(OPTIONS.limit, { parse: false }))
    .option('--json', 'JSON lines')
    .action(async (flags) => exit(await listClustersCommand({ ...flags, dataDir: dataDir() }, config())));
  clusters
    .command('show')
    .description('one cluster and its faces (an id merged or named away says where it went)')
    .argument('<cluster>')
    .option('--json', 'JSON')
    .action(async (id: string, flags) =>
      exit(await showClusterCommand(id, { ...flags, dataDir: dataDir() }, config())),
    );
  clusters
    .command('consolidate')
    .description('merge clusters that drifted together (the oldest id is kept, the others lead to it)')
    .option('--all', 'look at every cluster, not only those changed since the last run')
    .option('--json', 'JSON')
    .action(async (flags) => exit(await consolidateClustersCommand({ ...flags, dataDir: dataDir() }, config())));
  clusters
    .command('split')
    .description('these faces leave the cluster for one of their own, and are never merged back')
    .argument('<cluster>')
    .argument('<faceIds...>')
    .option('--json', 'JSON')
    .action(async (id: string, faceIds: string[], flags) =>
      exit(await splitClusterCommand(id, faceIds, { ...flags, dataDir: dataDir() }, config())),
    );

  program
    .command('query')
    .description('faces and images in the results table')
    .option('--image <key>', 'the faces of one image: its key in the ingest bucket, or the file it was run from')
    .option('--person <id>', 'faces recognised as this person, newest first')
    .option('--emotion <label>', 'faces with this emotion, newest first')
    .option('--unknown', 'faces of nobody enrolled')
    .option('--cluster <cluster>', 'the faces of one cluster of unknown faces, newest first')
    .option('--failed', 'images that failed, with the reason')
    .option('--since <time>', 'only from this date/time on')
    .option('--until <time>', 'only up to this date/time')
    // queryCommand parses --limit itself, with the same definition (its callers pass the text).
    .addOption(cliOption(OPTIONS.limit, { parse: false }))
    .option('--json', 'JSON lines')
    .action(async (flags) => exit(await queryCommand({ ...flags, dataDir: dataDir() }, config())));

  program
    .command('search')
    .description('the stored faces most alike the largest face of a photo (known and unknown), with images and times')
    .argument('<photo>', 'a photo showing the face to look for')
    .option('--limit <n>', 'at most this many faces (1-100, default 10)')
    .option('--json', 'JSON lines')
    .action(async (photo: string, flags) =>
      exit(await searchCommand(photo, { ...flags, dataDir: dataDir() }, config())),
    );

  program
    .command('delete')
    .description('erase an image: its upload, crops, thumbnails, face records and embeddings')
    .argument('<image-key>', 'the image key in the ingest bucket, or the file it was run from')
    .option('--json', 'JSON')
    .action(async (key: string, flags) =>
      exit(await deleteImageCommand(key, { ...flags, dataDir: dataDir() }, config())),
    );

  const deadLetters = program
    .command('dead-letters')
    .description('the messages the pipeline gave up on after their retries: list them, or send them through again');
  deadLetters
    .command('list')
    .description('every dead letter, oldest first, with its queue, key and the last error')
    .option('--queue <queue>', 'only this queue: ingest, emotion or recognise')
    .option('--json', 'JSON lines')
    .action(async (flags) => exit(await listDeadLettersCommand({ ...flags, dataDir: dataDir() }, config())));
  deadLetters
    .command('redrive')
    .description('send the dead letters back into their queues; each is removed once handled')
    .option('--queue <queue>', 'only this queue: ingest, emotion or recognise')
    .addOption(cliOption(OPTIONS.workers))
    .option('--json', 'print the counts as JSON')
    .action(async (flags) => {
      exit(await redriveDeadLettersCommand({ ...flags, dataDir: dataDir() }, config()));
    });

  const models = program.command('models').description('the model files: list, fetch, convert');
  models
    .command('list')
    .description('every model in the manifest and whether it is ready')
    .option('--json', 'print JSON lines')
    .action(async (flags) => {
      exit(await listModelsCommand(flags, config()));
    });
  models
    .command('fetch')
    .description(
      'put verified model files in the cache: from the mirror folder FACEPIPE_MODEL_MIRROR, the upstream URL ' +
        '(FACEPIPE_MODEL_URL_BASE replaces its host), or the converter; exit code 1 if any model could not be had',
    )
    .argument('[ids...]', 'model ids (default: the default models)')
    .option('--all', 'every model in the manifest')
    .option('--offline', 'no downloads: mirror and converter only')
    .addHelpText(
      'after',
      '\nWithout network, point FACEPIPE_MODEL_MIRROR at a folder holding the model files. If only the verifier ' +
        '(retinaface_mnet025) is missing, commands still run with --no-verify (one-stage detection).',
    )
    .action(async (ids: string[], flags) => {
      exit(await fetchModelsCommand(ids, flags, config()));
    });
  models
    .command('convert')
    .description(
      "build a model with facepipe's converter: face-api (emotion, age/gender, landmarks) from the npm package " +
        'weights, RetinaFace from its PyTorch checkpoint',
    )
    .argument('<id>', 'faceapi_expression, faceapi_age_gender, faceapi_landmark68 or retinaface_mnet025')
    .option('--out <file>', 'write here instead of the cache')
    .action(async (id: string, flags) => {
      exit(await convertModelCommand(id, flags, config()));
    });
  return program;
}

/**
 * `facepipe query ... | head -1`: once the reader has gone, the rest of the output has nowhere to go; exit at once and
 * quietly instead of dying on an unhandled EPIPE with a stack trace. (Stopping midway is safe: a killed run resumes.)
 */
let quietOnBrokenPipe = false;
export function exitQuietlyOnBrokenPipe(): void {
  if (quietOnBrokenPipe) return;
  quietOnBrokenPipe = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnBrokenPipe();
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const { code, message } = describeError(error);
    process.stderr.write(
      `facepipe: ${code === 'INTERNAL' ? '' : `${code}: `}${printable(message, { keepNewlines: true })}\n`,
    );
    process.exitCode = 2;
  }
}
