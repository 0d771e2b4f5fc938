import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDataDir } from '../../helpers/localPipeline';
import { builtCli, type CliResult, cliEnv, runCli } from '../../helpers/localStore';

// The built CLI (bin/facepipe.js runs dist/): run `npm run build` before these tests.
jest.setTimeout(300_000);

/**
 * A read-only or full file system needs a mount: a user namespace (`unshare --user --map-root-user --mount`, no
 * privileges needed where the kernel allows them) gives one, with a tmpfs of a few MiB as the full disk. Where that
 * is not allowed, these cases are skipped, loudly.
 */
const namespaces = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'true']).status === 0;
function withMounts(): jest.It {
  if (namespaces) return it;
  console.warn('\n*** SKIPPED: unshare cannot make a user and mount namespace here: no full or read-only disk. ***\n');
  return it.skip;
}
const itWithMounts = withMounts();

/** Runs a shell script in a new user and mount namespace; each `facepipe ...` line's output is tagged by step. */
function inNamespace(script: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script, 'sh', ...args], {
      env: { ...cliEnv, FACEPIPE_CLI: builtCli, NODE: process.execPath },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A table backup file of `count` images of about `noteBytes` each (the format `store backup` writes). */
function backupFile(file: string, count: number, noteBytes: number): string {
  const lines = [JSON.stringify({ format: 'facepipe-table-backup', version: 1, table: 'facepipe-results' })];
  for (let i = 0; i < count; i++) {
    const item = { PK: { S: `IMAGE#image${i}` }, SK: { S: '#IMAGE' }, note: { S: `${i}:${'x'.repeat(noteBytes)}` } };
    lines.push(JSON.stringify({ item }));
  }
  lines.push(JSON.stringify({ end: true, items: count }));
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** The lines of a namespace script's output that start with `tag`. */
const step = (result: CliResult, tag: string) =>
  (result.stdout + result.stderr)
    .split('\n')
    .filter((line) => line.startsWith(`${tag} `))
    .map((line) => line.slice(tag.length + 1));

describe('the local store on a disk it cannot write', () => {
  itWithMounts(
    'a full disk: every command says the disk is full and where; freed, the store is intact; a restore cut off by it leaves the old table',
    async () => {
      // Prepare: 39 images restored into a store on a 2 MiB tmpfs, then the disk filled up.
      const root = tempDataDir('full');
      const small = backupFile(path.join(root, 'small.jsonl'), 39, 200);
      const large = backupFile(path.join(root, 'large.jsonl'), 400, 4000);
      const script = `
        set -u
        mount -t tmpfs -o size=2m tmpfs "$1/disk" || exit 99
        run() { tag=$1; root=$2; shift 2; "$NODE" "$FACEPIPE_CLI" --data-dir "$root/disk/data" "$@" 2>&1 | sed "s/^/$tag /"; }
        run restore "$1" store restore "$2" --json
        dd if=/dev/zero of="$1/disk/filler" bs=4k 2>/dev/null
        run full "$1" people list --json
        rm "$1/disk/filler"
        run freed "$1" store check --json
        dd if=/dev/zero of="$1/disk/filler" bs=4k count=256 2>/dev/null
        run cut "$1" store restore "$3" --force --json
        run after "$1" store check --json
        ls "$1/disk/data" | sed "s/^/ls /"
      `;
      fs.mkdirSync(path.join(root, 'disk'));

      // Act
      const result = await inNamespace(script, [root, small, large]);

      // Assess
      expect(result.code).toBe(0);
      expect(JSON.parse(step(result, 'restore')[0] ?? '{}')).toMatchObject({ items: 39 });
      const lockDir = path.join(root, 'disk', 'data', 'owner', 'lock');
      expect(step(result, 'full')).toEqual([
        `facepipe: STORE_UNAVAILABLE: Cannot lock ${lockDir}: the disk is full (or your disk quota is used up) (IO ` +
          `error: ${lockDir}/MANIFEST-000004: No space left on device). Free some space and run the command again; ` +
          'what was written before is kept.',
      ]);
      expect(JSON.parse(step(result, 'freed')[0] ?? '{}')).toMatchObject({ problems: [], items: { images: 39 } });
      expect(step(result, 'cut').join('\n')).toMatch(/STORE_UNAVAILABLE: .*the disk is full/);
      expect(JSON.parse(step(result, 'after')[0] ?? '{}')).toMatchObject({ problems: [], items: { images: 39 } });
      expect(step(result, 'ls').sort()).toEqual(['owner', 'table']);
    },
  );

  itWithMounts('a read-only file system: STORE_UNAVAILABLE naming the path and what to do', async () => {
    // Prepare: a store, then its folder mounted read-only.
    const root = tempDataDir('readonly');
    const dataDir = path.join(root, 'data');
    expect((await runCli(['--data-dir', dataDir, 'query', '--failed'])).code).toBe(0);
    const script = `
      mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99
      "$NODE" "$FACEPIPE_CLI" --data-dir "$1/data" query --failed 2>&1 | sed "s/^/ro /"
    `;

    // Act
    const result = await inNamespace(script, [root]);

    // Assess
    expect(step(result, 'ro')).toEqual([
      `facepipe: STORE_UNAVAILABLE: Cannot lock ${dataDir}/owner/lock: the file system is read-only (IO error: ` +
        `${dataDir}/owner/lock/LOCK: Read-only file system). Mount it writable, or copy ${dataDir} somewhere ` +
        'writable and use --data-dir.',
    ]);
  });

  it('a data directory made read-only by its owner: STORE_UNAVAILABLE, permission denied, and how to make it writable', async () => {
    // Prepare: root ignores permissions, so as root the commands run as nobody (setpriv), on a store of nobody's.
    const root = tempDataDir('perm');
    const dataDir = path.join(root, 'data');
    const asRoot = process.getuid?.() === 0;
    const run = (args: string[]) =>
      new Promise<CliResult>((resolve, reject) => {
        const command = asRoot ? 'setpriv' : process.execPath;
        const prefix = asRoot ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath] : [];
        const child = spawn(command, [...prefix, builtCli, '--data-dir', dataDir, ...args], { env: cliEnv });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => {
          stdout += String(chunk);
        });
        child.stderr.on('data', (chunk) => {
          stderr += String(chunk);
        });
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      });
    if (asRoot) {
      fs.chmodSync(root, 0o755);
      fs.chownSync(root, 65534, 65534);
    }
    expect(await run(['query', '--failed'])).toMatchObject({ code: 0 });
    for (const entry of ['', ...(fs.readdirSync(dataDir, { recursive: true }) as string[])]) {
      const file = path.join(dataDir, entry);
      fs.chmodSync(file, fs.statSync(file).mode & 0o500);
    }

    // Act
    const refused = await run(['query', '--failed']);

    // Assess
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `facepipe: STORE_UNAVAILABLE: Cannot lock ${dataDir}/owner/lock: permission denied (IO error: ` +
        `${dataDir}/owner/lock/LOCK: Permission denied). facepipe reads and writes everything in its data directory: ` +
        `make ${dataDir} and what is in it yours and writable (chmod -R u+rwX ${dataDir}), or use another --data-dir.\n`,
    );
  });
});
