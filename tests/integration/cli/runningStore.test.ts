import fs from 'node:fs';
import path from 'node:path';
import { tempDataDir } from '../../helpers/localPipeline';
import {
  type CliResult,
  filesHolding,
  listeningTcpPorts,
  notPrivate,
  runCli,
  startCli,
  waitFor,
} from '../../helpers/localStore';
import { dataFile } from '../../helpers/testConfig';

// The built CLI (bin/facepipe.js runs dist/): run `npm run build` before these tests.
jest.setTimeout(600_000);

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);

/** Runs a command again until `done` holds for its result (the pipeline finishes a photo in its own time). */
async function eventually(args: string[], done: (result: CliResult) => boolean, what: string): Promise<CliResult> {
  for (let attempt = 0; ; attempt++) {
    const result = await runCli(args);
    if (done(result)) return result;
    if (attempt === 200) throw new Error(`never got ${what}: ${JSON.stringify(result)}`);
  }
}

const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('facepipe commands beside a running watch', () => {
  it('query, people add/list/show/remove, delete, dead-letters list, store check and backup work through it; run and store restore are refused; nothing is open to others or left after erasure', async () => {
    // Prepare
    const dataDir = tempDataDir('running');
    const ingest = path.join(dataDir, 'buckets', 'ingest');
    const backup = path.join(tempDataDir('backup'), 'table.jsonl');
    const cli = (...args: string[]) => ['--data-dir', dataDir, ...args];
    const watch = startCli(cli('watch'));
    try {
      await waitFor(() => watch.output().stderr.includes('watching'), 'watch to start');

      // Act: enrol from another process, then drop a photo of him in: the running watch must know him.
      const add = await runCli(
        cli(
          'people',
          'add',
          'zq-kit',
          '--name',
          'Zebediah Quuxworth',
          '--details',
          '{"codename":"Purple-Narwhal-7731"}',
          knn('train', 'kit_harington', 'john1.jpeg'),
          knn('train', 'kit_harington', 'john2.jpeg'),
        ),
      );
      const list = await runCli(cli('people', 'list', '--json'));
      fs.copyFileSync(knn('test', 'johnsnow_test1.jpg'), path.join(ingest, 'zq-solo.jpg'));
      await waitFor(() => watch.output().stdout.includes('zq-solo.jpg: 1 face(s)'), 'the photo to be processed');
      const recognised = await eventually(
        cli('query', '--person', 'zq-kit', '--json'),
        (result) => result.code === 0 && result.stdout.trim() !== '',
        'the face recognised as zq-kit',
      );
      const show = await runCli(cli('people', 'show', 'zq-kit', '--json'));
      const deadLetters = await runCli(cli('dead-letters', 'list', '--json'));
      const run = await runCli(cli('run', knn('test', 'obama1.jpg')));
      const restore = await runCli(cli('store', 'restore', backup, '--force'));
      const check = await runCli(cli('store', 'check', '--json'));
      const backedUp = await runCli(cli('store', 'backup', backup));
      const whileRunning = notPrivate(dataDir);
      const ports = listeningTcpPorts(watch.child.pid);
      const deleted = await runCli(cli('delete', 'zq-solo.jpg'));
      const removed = await runCli(cli('people', 'remove', 'zq-kit', '--erase'));
      const left = [
        'Zebediah Quuxworth',
        'Purple-Narwhal-7731',
        'zq-solo.jpg',
        Buffer.from('PERSON#zq-kit').toString('hex'),
      ]
        .map((needle) => ({ needle, files: filesHolding(dataDir, Buffer.from(needle)) }))
        .filter(({ files }) => files.length > 0);

      // Assess
      expect(add).toMatchObject({ code: 0, stdout: expect.stringContaining('enrolled zq-kit (Zebediah Quuxworth)') });
      expect(jsonLines(list.stdout).map((person) => person.personId)).toEqual(['zq-kit']);
      expect(jsonLines(recognised.stdout)).toEqual([
        expect.objectContaining({
          image: 'zq-solo.jpg',
          identity: expect.objectContaining({ personId: 'zq-kit', name: 'Zebediah Quuxworth' }),
        }),
      ]);
      expect(JSON.parse(show.stdout)).toMatchObject({ personId: 'zq-kit', faces: [{ image: 'zq-solo.jpg' }] });
      expect(deadLetters).toMatchObject({ code: 0, stdout: '' });
      expect(restore.code).toBe(2);
      expect(restore.stderr).toContain(`STORE_BUSY: Another facepipe is running on the data directory ${dataDir}`);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        `facepipe: STORE_BUSY: Another facepipe is running on the data directory ${dataDir} (facepipe watch, pid ${watch.child.pid})`,
      );
      expect(run.stderr).toContain(`copy the files into ${ingest}`);
      expect(check.code).toBe(0);
      expect(JSON.parse(check.stdout)).toMatchObject({ problems: [], items: { images: 1, faces: 1, people: 1 } });
      expect(backedUp.code).toBe(0);
      expect(fs.readFileSync(backup, 'utf8')).toContain('Zebediah Quuxworth');
      expect(fs.statSync(backup).mode & 0o777).toBe(0o600);
      expect(whileRunning).toEqual([]);
      expect(fs.statSync(path.join(dataDir, 'owner', 'socket')).isSocket()).toBe(true);
      if (ports) expect(ports).toEqual([]);
      expect([deleted.code, removed.code]).toEqual([0, 0]);
      expect(left).toEqual([]);
    } finally {
      watch.child.kill('SIGINT');
    }
    const code = await new Promise((resolve) => watch.child.once('exit', resolve));
    expect(code).toBe(0);
    expect(watch.output().stderr).not.toMatch(/Database is closed|INTERNAL/);
    expect(fs.existsSync(path.join(dataDir, 'owner', 'socket'))).toBe(false);
    expect(notPrivate(dataDir)).toEqual([]);
  });

  it('20 pairs of commands started at the same moment: each works or says another facepipe is running, never "Database is closed"', async () => {
    // Prepare: reading commands (which join a running one) and commands that need the data directory alone.
    const dataDir = tempDataDir('pairs');
    const cli = (...args: string[]) => ['--data-dir', dataDir, ...args];
    const kinds = [
      [cli('query', '--failed', '--json'), cli('query', '--failed', '--json')],
      [cli('query', '--failed', '--json'), cli('store', 'repair', '--json')],
      [cli('store', 'repair', '--json'), cli('store', 'repair', '--json')],
      [cli('store', 'check', '--json'), cli('people', 'list', '--json')],
    ];

    // Act
    const results: { args: string[]; result: CliResult }[] = [];
    for (let pair = 0; pair < 20; pair++) {
      const [a, b] = kinds[pair % kinds.length] as [string[], string[]];
      const [first, second] = await Promise.all([runCli(a), runCli(b)]);
      results.push({ args: a, result: first }, { args: b, result: second });
    }

    // Assess
    const busy = `STORE_BUSY: Another facepipe is running on the data directory ${dataDir}`;
    const unexpected = results.filter(
      ({ result }) => !(result.code === 0 || (result.code === 2 && result.stderr.includes(busy))),
    );
    expect(unexpected).toEqual([]);
    expect(results.filter(({ result }) => /Database is closed/.test(result.stderr + result.stdout))).toEqual([]);
    // Two reading commands never refuse each other: one works through the other.
    const readers = results.filter(
      (_, i) => Math.floor(i / 2) % kinds.length === 0 || Math.floor(i / 2) % kinds.length === 3,
    );
    expect(readers.filter(({ result }) => result.code !== 0)).toEqual([]);
    const refused = results.filter(({ result }) => result.code === 2).length;
    process.stderr.write(`20 pairs: ${refused} command(s) refused with STORE_BUSY, the rest worked\n`);
    expect(notPrivate(dataDir)).toEqual([]);
  });
});
