import { Command, Option } from 'commander';
import { DEFAULT_DATA_DIR } from '../lib/adapters/local/localPipeline';
import { type ConfigOverrides, loadConfig } from '../lib/config';
import { describeError } from '../lib/errors';
import { analyzeCommand } from './commands/analyze';
import { compareCommand } from './commands/compare';
import { listDeadLettersCommand, redriveDeadLettersCommand } from './commands/deadLetters';
import { deleteImageCommand } from './commands/delete';
import { convertModelCommand, fetchModelsCommand, listModelsCommand } from './commands/models';
import { addPersonCommand, listPeopleCommand, removePersonCommand, showPersonCommand } from './commands/people';
import { queryCommand } from './commands/query';
import { runCommand } from './commands/run';
import { watchCommand } from './commands/watch';

interface GlobalFlags {
  detector?: string;
  threads?: string;
  scoreThreshold?: string;
  minFaceSize?: string;
  maxFaces?: string;
  inputSize?: string;
  highRecall?: boolean;
  verify?: boolean;
  ageGender?: boolean;
  maxPixels?: string;
  cropMargin?: string;
  imageFormat?: 'jpeg' | 'webp';
  dataDir: string;
}

function toNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${flag} must be a number, got "${value}"`);
  return n;
}

function configFrom(flags: GlobalFlags) {
  const detection: ConfigOverrides['detection'] = {};
  const set = <K extends keyof NonNullable<ConfigOverrides['detection']>>(key: K, v: number | undefined) => {
    if (v !== undefined) (detection as Record<string, unknown>)[key] = v;
  };
  set('scoreThreshold', toNumber(flags.scoreThreshold, '--score-threshold'));
  set('minFaceSize', toNumber(flags.minFaceSize, '--min-face-size'));
  set('maxFaces', toNumber(flags.maxFaces, '--max-faces'));
  set('inputSize', toNumber(flags.inputSize, '--input-size'));
  if (flags.highRecall) detection.highRecall = true;
  if (flags.verify === false) detection.verify = false;
  const overrides: ConfigOverrides = { detection, models: {}, decode: {} };
  if (flags.detector) overrides.models = { ...overrides.models, detector: flags.detector };
  const threads = toNumber(flags.threads, '--threads');
  if (threads !== undefined) overrides.models = { ...overrides.models, threads };
  const maxPixels = toNumber(flags.maxPixels, '--max-pixels');
  if (maxPixels !== undefined) overrides.decode = { maxPixels };
  const margin = toNumber(flags.cropMargin, '--crop-margin');
  if (margin !== undefined) overrides.crop = { margin };
  if (flags.imageFormat) {
    overrides.crop = { ...overrides.crop, format: flags.imageFormat };
    overrides.thumbnail = { format: flags.imageFormat };
  }
  if (flags.ageGender === false) overrides.ageGender = false;
  return loadConfig(overrides);
}

export function buildProgram(): Command {
  const program = new Command('facepipe')
    .description('Find every face in images: box, landmarks, emotion, identity embedding, age and gender.')
    .showHelpAfterError()
    .option('--detector <id>', 'detector model (yunet_s_dynamic, retinaface_mnet025, ...)')
    .option('--threads <n>', 'onnxruntime threads per model (default 1; 0 = all cores)')
    .option('--score-threshold <s>', 'minimum detection score, 0..1 (default 0.6)')
    .option('--min-face-size <px>', 'drop faces smaller than this many pixels (default 0)')
    .option('--max-faces <n>', 'keep at most this many faces per image (default 500)')
    .option('--input-size <px>', 'detector input, long side in pixels (default 640)')
    .option('--high-recall', 'small-face mode: a second detector pass at 1280 px')
    .option('--no-verify', 'one-stage detection: skip the RetinaFace second opinion')
    .option('--no-age-gender', 'skip the age/gender analyser')
    .option('--max-pixels <n>', 'refuse images with more pixels than this (default 100000000)')
    .option('--crop-margin <f>', 'face crop margin as a fraction of the box (default 0.25)')
    .addOption(new Option('--image-format <fmt>', 'crop and thumbnail format').choices(['jpeg', 'webp']))
    .addOption(
      new Option('--data-dir <dir>', 'where the local pipeline keeps its buckets, table and dead letters')
        .env('FACEPIPE_DATA_DIR')
        .default(DEFAULT_DATA_DIR),
    );

  const config = () => configFrom(program.opts<GlobalFlags>());
  const dataDir = () => program.opts<GlobalFlags>().dataDir;
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
    .option('--workers <n>', 'messages each stage handles at once (default 2)')
    .option('--json', 'print the summary as JSON')
    .action(async (paths: string[], flags) => {
      const workers = toNumber(flags.workers, '--workers');
      exit(await runCommand(paths, { ...flags, workers, dataDir: dataDir() }, config()));
    });

  program
    .command('watch')
    .description('keep running: process every image dropped into the ingest folder (Ctrl-C stops cleanly)')
    .argument('[folder]', 'folder to watch (default: the ingest bucket folder of the data directory)')
    .option('--workers <n>', 'messages each stage handles at once (default 2)')
    .action(async (folder: string | undefined, flags) => {
      const workers = toNumber(flags.workers, '--workers');
      exit(await watchCommand(folder, { workers, dataDir: dataDir() }, config()));
    });

  const people = program.command('people').description('the people facepipe recognises');
  people
    .command('add')
    .description('enrol a person from photos that each show exactly their face')
    .argument('<id>', 'person id: letters, digits, ".", "_" or "-"')
    .argument('<photos...>')
    .option('--name <name>', 'display name (required for a new person)')
    .option('--details <json>', 'free-form details as a JSON object')
    .option('--details-file <file>', 'details from a JSON file')
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
    .command('remove')
    .description('remove a person from the gallery; with --erase also every face recognised as them')
    .argument('<id>')
    .option('--erase', 'erase every crop, thumbnail and record of their faces too')
    .option('--json', 'JSON')
    .action(async (id: string, flags) =>
      exit(await removePersonCommand(id, { ...flags, dataDir: dataDir() }, config())),
    );

  program
    .command('query')
    .description('faces and images in the results table')
    .option('--image <key>', 'the faces of one image (its key in the ingest bucket)')
    .option('--person <id>', 'faces recognised as this person, newest first')
    .option('--emotion <label>', 'faces with this emotion, newest first')
    .option('--unknown', 'faces of nobody enrolled')
    .option('--failed', 'images that failed, with the reason')
    .option('--since <time>', 'only from this date/time on')
    .option('--until <time>', 'only up to this date/time')
    .option('--limit <n>', 'at most this many results')
    .option('--json', 'JSON lines')
    .action(async (flags) => exit(await queryCommand({ ...flags, dataDir: dataDir() }, config())));

  program
    .command('delete')
    .description('erase an image: its upload, crops, thumbnails, face records and embeddings')
    .argument('<image-key>', 'the image key in the ingest bucket')
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
    .option('--workers <n>', 'messages each stage handles at once (default 2)')
    .option('--json', 'print the counts as JSON')
    .action(async (flags) => {
      const workers = toNumber(flags.workers, '--workers');
      exit(await redriveDeadLettersCommand({ ...flags, workers, dataDir: dataDir() }, config()));
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

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const { code, message } = describeError(error);
    process.stderr.write(`facepipe: ${code === 'INTERNAL' ? '' : `${code}: `}${message}\n`);
    process.exitCode = 2;
  }
}
