import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { CONTROL_CHARACTER } from '../../../lib/printable';
import { openPipeline, storeFaces, tempDataDir } from '../../helpers/localPipeline';
import { storedFaceFactory, storedFailedImageFactory, storedPersonFactory } from '../../helpers/storedRecords';
import { modelMirror, repoRoot, testCache } from '../../helpers/testConfig';

const cli = path.join(repoRoot, 'bin', 'facepipe.js');
const env = { ...process.env, FACEPIPE_MODEL_MIRROR: modelMirror, FACEPIPE_MODEL_CACHE: testCache };

/** A terminal takes these as commands: clear the screen, retitle the window, colour, and reverse the line (bidi). */
const EVIL = '\u001b[2J\u001b]0;owned\u0007\u009b31m\u202egpj.exe\u202c\u2066x\u2069';
const EVIL_SHOWN = '\\u001b[2J\\u001b]0;owned\\u0007\\u009b31m\\u202egpj.exe\\u202c\\u2066x\\u2069';
/** Any control character but the newlines that end lines. */
const RAW_CONTROL = new RegExp(CONTROL_CHARACTER.source.replace('\\u0000-\\u001f', '\\u0000-\\u0009\\u000b-\\u001f'));

function facepipe(dataDir: string, ...args: string[]) {
  const result = spawnSync('node', [cli, '--data-dir', dataDir, ...args], { env, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('names and keys holding escape sequences and bidi overrides', () => {
  it('are printed with their control characters escaped, in tables, details, JSON lines and error messages', async () => {
    // Prepare: a person, a photo and a failed upload whose names and details are hostile.
    const dataDir = tempDataDir('terminal');
    const key = `holiday/${EVIL}.jpg`;
    const pipeline = await openPipeline(dataDir, { consume: false });
    try {
      await pipeline.results.putPerson(
        storedPersonFactory('eve', { name: `Eve ${EVIL}`, details: { note: EVIL }, photos: [`${EVIL}.jpg`] }),
        undefined,
      );
      await storeFaces(pipeline.results, [storedFaceFactory(key, 0, 'eve'), storedFaceFactory(key, 1)]);
      await pipeline.results.putImage(storedFailedImageFactory(`broken ${EVIL}.jpg`, `cannot read ${EVIL}`));
    } finally {
      await pipeline.close();
    }

    // Act
    const runs = {
      peopleList: facepipe(dataDir, 'people', 'list'),
      peopleListJson: facepipe(dataDir, 'people', 'list', '--json'),
      peopleShow: facepipe(dataDir, 'people', 'show', 'eve'),
      faces: facepipe(dataDir, 'query', '--person', 'eve'),
      facesJson: facepipe(dataDir, 'query', '--unknown', '--json'),
      failed: facepipe(dataDir, 'query', '--failed'),
      missingImage: facepipe(dataDir, 'query', '--image', `nothing ${EVIL}`),
      badOption: facepipe(dataDir, 'query', `--${EVIL}`),
    };

    // Assess: not one raw control character anywhere; each hostile string shows escaped where it belongs.
    for (const [name, run] of Object.entries(runs)) {
      expect([name, RAW_CONTROL.test(run.stdout), RAW_CONTROL.test(run.stderr)]).toEqual([name, false, false]);
    }
    expect(runs.peopleList.stdout).toMatch(/\neve {5}Eve \\u001b\[2J.*…/);
    expect(runs.peopleList.stdout).toContain(`{"note":"${EVIL_SHOWN}"}\n`);
    expect(JSON.parse(runs.peopleListJson.stdout)).toMatchObject({ name: `Eve ${EVIL}`, details: { note: EVIL } });
    expect(runs.peopleShow.stdout).toContain(`eve: Eve ${EVIL_SHOWN}\n`);
    expect(runs.peopleShow.stdout).toContain(`enrolled from: ${EVIL_SHOWN}.jpg\n`);
    expect(runs.peopleShow.stdout).toContain(`holiday/${EVIL_SHOWN}.jpg`);
    expect(runs.faces.stdout).toContain('eve 0.81');
    expect(runs.faces.stdout).toMatch(/holiday\/\\u001b\[2J.*…/);
    expect(JSON.parse(runs.facesJson.stdout)).toMatchObject({ image: key });
    expect(runs.failed.stdout).toContain(`CORRUPT_IMAGE: cannot read ${EVIL_SHOWN}\n`);
    expect([runs.missingImage.code, runs.missingImage.stderr]).toEqual([
      2,
      `facepipe: NOT_FOUND: No image with key "nothing ${EVIL_SHOWN}".\n`,
    ]);
    expect(runs.badOption.stderr).toContain(`unknown option '--${EVIL_SHOWN}'`);
  });
});
