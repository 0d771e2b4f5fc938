/**
 * `npm run bench:decode`: what one image costs the vision core when its file is small but its header declares a large
 * canvas (a decompression bomb), next to legitimate large photos in every format. Each input is analysed
 * (`FaceAnalyser.analyze`, the path of `facepipe analyze`, the detect stage and enrolment) in a child process of its
 * own, so that CPU time and peak RSS are that input's alone. Writes a Markdown report to stdout and
 * reports/decode-budget.{md,json}.
 *
 *   npm run build && nice -n 10 node dist/tools/bench/decodeBudget.js [--only NAME,...] [--baseline FILE] [--out DIR]
 *
 * `--baseline` takes the decode-budget.json of an earlier run (another commit) and shows its numbers next to these.
 *
 * The bombs are made on the spot (tools/common/hostileImages.ts); those sharp must encode at full size (AVIF,
 * progressive JPEG: up to 25 s each) and the conversions of the photo are cached in --cache. A benchmark, not a
 * test: the numbers depend on the machine and its load, so the report states both.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadConfig } from '../../lib/config';
import { describeError } from '../../lib/errors';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { blankImage, type EncodedFormat, encodeAs, gifBomb, pngBomb, webpCanvasBomb } from '../common/hostileImages';
import { dataFile, repoRoot, reportsDir } from '../common/paths';

interface Input {
  name: string;
  kind: 'bomb' | 'photo' | 'blank';
  /** What it is, for the report. */
  what: string;
  make: () => Promise<Buffer> | Buffer;
  /** Made by sharp at full size: slow, so cached. */
  cached?: boolean;
}

const PHOTO = 'robustness/upstream/deepface_img40_14MP.jpg';

const bomb = (name: string, what: string, make: () => Promise<Buffer> | Buffer, cached = false): Input => ({
  name,
  kind: 'bomb',
  what,
  make,
  cached,
});

/** The 14 MP photo (3061x4600) as another format, optionally scaled first. */
const photoAs = (format: EncodedFormat, scale = 1): Input => ({
  name: `photo-14mp${scale === 1 ? '' : `-x${scale}`}.${format}`,
  kind: 'photo',
  what: `the 14 MP photo${scale === 1 ? '' : ` scaled x${scale}`} as ${format}`,
  make: () => {
    const image = sharp(fs.readFileSync(dataFile(PHOTO))).rotate();
    return encodeAs(scale === 1 ? image : image.resize(Math.round(3061 * scale)), format);
  },
  cached: true,
});

const blank = (format: EncodedFormat, width: number, height: number, label: string): Input => ({
  name: `blank-${label}.${format}`,
  kind: 'blank',
  what: `a blank ${width}x${height} screen (${label}) as ${format}`,
  make: () => blankImage(format, width, height),
  cached: true,
});

const INPUTS: Input[] = [
  bomb('avif-10k', 'blank 10000x10000 AVIF', () => blankImage('avif', 10000, 10000), true),
  bomb('avif-8k', 'blank 8000x8000 AVIF', () => blankImage('avif', 8000, 8000), true),
  bomb('avif-4k', 'blank 4000x4000 AVIF', () => blankImage('avif', 4000, 4000), true),
  bomb('webp-anim-10k', 'animated WebP, 10000x10000 canvas, two 16x16 frames', () => webpCanvasBomb(10000, 10000)),
  bomb('webp-anim-8k', 'animated WebP, 8000x8000 canvas, two 16x16 frames', () => webpCanvasBomb(8000, 8000)),
  bomb('webp-10k', 'blank 10000x10000 lossy WebP', () => blankImage('webp', 10000, 10000), true),
  bomb('pjpeg-10k', 'blank 10000x10000 progressive JPEG', () => blankImage('progressive-jpeg', 10000, 10000), true),
  bomb('pjpeg-8k', 'blank 8000x8000 progressive JPEG', () => blankImage('progressive-jpeg', 8000, 8000), true),
  bomb('jpeg-10k', 'blank 10000x10000 baseline JPEG', () => blankImage('jpeg', 10000, 10000), true),
  bomb('gif-10k', 'one-colour 10000x10000 GIF (LZW never cleared)', () => gifBomb(10000, 10000)),
  bomb('gif-8k', 'one-colour 8000x8000 GIF', () => gifBomb(8000, 8000)),
  bomb('png-interlaced-10k', 'black 10000x10000 1-bit interlaced PNG', () =>
    pngBomb(10000, 10000, { interlaced: true }),
  ),
  bomb('png-interlaced-8k', 'black 8000x8000 1-bit interlaced PNG', () => pngBomb(8000, 8000, { interlaced: true })),
  bomb('png-10k', 'black 10000x10000 1-bit PNG', () => pngBomb(10000, 10000, { interlaced: false })),
  bomb('png-rgb-10k', 'blank 10000x10000 RGB PNG', () => blankImage('png', 10000, 10000), true),
  // At the bomb guard (16 MP; AVIF 8.3 MP, blank-4K.avif below): the most a small file decoded whole may cost.
  bomb('webp-anim-16mp', 'animated WebP, 4000x4000 canvas, two 16x16 frames', () => webpCanvasBomb(4000, 4000)),
  bomb('gif-16mp', 'one-colour 4000x4000 GIF', () => gifBomb(4000, 4000)),
  bomb('png-interlaced-16mp', 'black 4000x4000 1-bit interlaced PNG', () => pngBomb(4000, 4000, { interlaced: true })),
  bomb('pjpeg-16mp', 'blank 4000x4000 progressive JPEG', () => blankImage('progressive-jpeg', 4000, 4000), true),
  // Above it: refused since this change.
  bomb('webp-anim-24mp', 'animated WebP, 6000x4000 canvas, two 16x16 frames', () => webpCanvasBomb(6000, 4000)),
  bomb('gif-24mp', 'one-colour 6000x4000 GIF', () => gifBomb(6000, 4000)),
  bomb('png-interlaced-24mp', 'black 6000x4000 1-bit interlaced PNG', () => pngBomb(6000, 4000, { interlaced: true })),
  bomb('pjpeg-24mp', 'blank 6000x4000 progressive JPEG', () => blankImage('progressive-jpeg', 6000, 4000), true),
  bomb('tiff-10k', 'blank 10000x10000 deflate TIFF', () => blankImage('tiff', 10000, 10000), true),
  blank('png', 3840, 2160, '4K'),
  blank('avif', 3840, 2160, '4K'),
  blank('webp', 3840, 2160, '4K'),
  blank('png', 5120, 2880, '5K'),
  blank('avif', 5120, 2880, '5K'),
  {
    name: 'photo-14mp.jpg',
    kind: 'photo',
    what: 'the 14 MP photo (3061x4600)',
    make: () => fs.readFileSync(dataFile(PHOTO)),
  },
  {
    name: 'photo-12mp.jpg',
    kind: 'photo',
    what: 'a 12 MP photo (4000x3000)',
    make: () => fs.readFileSync(dataFile('robustness/upstream/deepface_img49_12MP.jpg')),
  },
  photoAs('progressive-jpeg'),
  photoAs('png'),
  photoAs('interlaced-png'),
  photoAs('webp'),
  photoAs('avif'),
  photoAs('gif'),
  photoAs('tiff'),
  photoAs('avif', 1.85),
  photoAs('png', 1.85),
];

interface Measurement {
  name: string;
  kind: Input['kind'];
  what: string;
  format: string;
  width: number;
  height: number;
  bytes: number;
  /** User plus system CPU of the whole process (every libvips and onnxruntime thread) during `analyze`. */
  cpuMs: number;
  wallMs: number;
  /** Peak RSS during `analyze` over the RSS before it (the peak is reset first through /proc/self/clear_refs). */
  rssGrowthMb: number;
  outcome: string;
}

const USAGE = `Usage: node dist/tools/bench/decodeBudget.js [options]
  --only NAME,...   measure only these inputs (names as in the report); writes no report unless --out is given
  --baseline FILE   decode-budget.json of an earlier run, shown next to this one ("before")
  --cache DIR       where slow-to-make inputs are kept (default <tmp>/facepipe-decode-budget)
  --out DIR         where decode-budget.md and .json go (default <repo>/reports)
  --timeout S       give up on one input after S seconds (default 180)`;

/** The commit measured (and whether the tree had changes), for a later run's --baseline. */
function commitLabel(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown commit';
  return `commit ${commit}${git('status', '--porcelain', '--', 'lib') ? ' with local changes' : ''}`;
}

function progress(message: string): void {
  process.stderr.write(`[decode-budget] ${message}\n`);
}

async function inputBytes(input: Input, cacheDir: string): Promise<Buffer> {
  if (!input.cached) return input.make();
  const file = path.join(cacheDir, input.name);
  if (fs.existsSync(file)) return fs.readFileSync(file);
  progress(`making ${input.name} (cached in ${cacheDir})`);
  const bytes = await input.make();
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(file, bytes);
  return bytes;
}

/** VmHWM (peak RSS) can be reset on Linux; elsewhere the peak since the process started is all there is. */
function resetPeakRss(): void {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux: the peak includes model loading, so growth is overstated, never understated
  }
}

function peakRssBytes(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** The child: loads the models, warms them up on a small photo, then analyses the one file and prints JSON. */
async function measureOne(file: string): Promise<void> {
  const analyser = await FaceAnalyser.create(loadConfig());
  await analyser.analyze(fs.readFileSync(dataFile('robustness/upstream/face_recognition_obama-240p.jpg')));
  const bytes = fs.readFileSync(file);
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => undefined);
  global.gc?.();
  resetPeakRss();
  const rssBefore = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let outcome: string;
  try {
    const result = await analyser.analyze(bytes, { crops: true, thumbnail: true });
    outcome = `${result.faces.length} face(s)`;
  } catch (error) {
    outcome = describeError(error).code;
  }
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const result = {
    format: String(meta?.format ?? '?'),
    width: meta?.width ?? 0,
    height: meta?.height ?? 0,
    bytes: bytes.length,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    rssGrowthMb: Math.max(0, peakRssBytes() - rssBefore) / 2 ** 20,
    outcome,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function measureInChild(input: Input, file: string, timeoutSeconds: number): Measurement {
  const child = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', __filename, '--child', file], {
    encoding: 'utf8',
    timeout: timeoutSeconds * 1000,
    maxBuffer: 16 * 2 ** 20,
  });
  const base = { name: input.name, kind: input.kind, what: input.what };
  const line = child.stdout?.trim().split('\n').at(-1);
  if (child.status === 0 && line) return { ...base, ...(JSON.parse(line) as Omit<Measurement, keyof typeof base>) };
  const reason = child.error ? String(child.error.message) : `exit ${child.status ?? child.signal}`;
  const size = fs.statSync(file).size;
  return {
    ...base,
    format: '?',
    width: 0,
    height: 0,
    bytes: size,
    cpuMs: Number.NaN,
    wallMs: Number.NaN,
    rssGrowthMb: Number.NaN,
    outcome: `child failed (${reason}): ${child.stderr?.trim().split('\n').at(-1) ?? ''}`,
  };
}

const fmt = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

function markdown(rows: Measurement[], machine: string, baseline?: Baseline): string {
  const lines = [
    '# Decode budget',
    '',
    'What `FaceAnalyser.analyze` (with crops and thumbnail) costs per input, each in a child process of its own,',
    'after the models are loaded and warmed up. CPU is user + system time of every thread of the process; RSS is',
    'the peak resident set during the call over the resident set before it. Written by `npm run bench:decode`',
    '(tools/bench/decodeBudget.ts).',
    '',
    machine,
  ];
  const before = new Map(baseline?.rows.map((row) => [row.name, row]));
  if (baseline) lines.push('', `Before: ${baseline.label}. ${baseline.machine}`);
  lines.push('');
  if (baseline) {
    lines.push(
      '| input | kind | format | declared size | MP | bytes | CPU ms before | RSS MB before | outcome before | CPU ms | wall ms | RSS growth MB | outcome |',
      '|---|---|---|---|--:|--:|--:|--:|---|--:|--:|--:|---|',
    );
  } else {
    lines.push(
      '| input | kind | format | declared size | MP | bytes | CPU ms | wall ms | RSS growth MB | outcome |',
      '|---|---|---|---|--:|--:|--:|--:|--:|---|',
    );
  }
  for (const r of rows) {
    const mp = (r.width * r.height) / 1e6;
    const was = before.get(r.name);
    const then = baseline
      ? `${fmt(was?.cpuMs ?? Number.NaN)} | ${fmt(was?.rssGrowthMb ?? Number.NaN)} | ${was?.outcome ?? '–'} | `
      : '';
    lines.push(
      `| ${r.name} | ${r.kind} | ${r.format} | ${r.width}x${r.height} | ${fmt(mp, 1)} | ${r.bytes} | ${then}` +
        `${fmt(r.cpuMs)} | ${fmt(r.wallMs)} | ${fmt(r.rssGrowthMb)} | ${r.outcome} |`,
    );
  }
  lines.push('', 'Inputs:', '');
  for (const r of rows) lines.push(`- \`${r.name}\`: ${r.what}`);
  return `${lines.join('\n')}\n`;
}

interface Baseline {
  label: string;
  machine: string;
  rows: Measurement[];
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      cache: { type: 'string' },
      out: { type: 'string' },
      timeout: { type: 'string' },
      child: { type: 'string' },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.child) return measureOne(values.child);
  const cacheDir = path.resolve(values.cache ?? path.join(os.tmpdir(), 'facepipe-decode-budget'));
  const outDir = path.resolve(values.out ?? reportsDir);
  const timeout = Number(values.timeout ?? 180);
  const only = values.only?.split(',');
  const inputs = only ? INPUTS.filter((i) => only.includes(i.name)) : INPUTS;
  if (inputs.length === 0) throw new Error(`no input named ${values.only}; see the report for names`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-decode-budget-'));
  const load = os.loadavg()[0]?.toFixed(1);
  const rows: Measurement[] = [];
  try {
    for (const input of inputs) {
      const file = path.join(work, input.name);
      fs.writeFileSync(file, await inputBytes(input, cacheDir));
      progress(`measuring ${input.name}`);
      const row = measureInChild(input, file, timeout);
      progress(`  ${fmt(row.cpuMs)} ms CPU, ${fmt(row.rssGrowthMb)} MB, ${row.outcome}`);
      rows.push(row);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const machine =
    `Machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}, ` +
    `sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), load average ${load} at the start.`;
  const baseline = values.baseline
    ? (JSON.parse(fs.readFileSync(values.baseline, 'utf8')) as Baseline & { label?: string })
    : undefined;
  if (baseline) baseline.label ??= path.basename(values.baseline as string);
  const report = markdown(rows, machine, baseline);
  process.stdout.write(report);
  if (!only || values.out) {
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'decode-budget.md'), report);
    const json = { label: commitLabel(), machine, rows, ...(baseline ? { baseline } : {}) };
    fs.writeFileSync(path.join(outDir, 'decode-budget.json'), `${JSON.stringify(json, null, 2)}\n`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
