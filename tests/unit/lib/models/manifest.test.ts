import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { manifest, modelEntry } from '../../../../lib/models/manifest';
import { repositoryFile } from '../../../../lib/models/modelStore';

const SHA256 = /^[0-9a-f]{64}$/;
/** GitHub URLs must name a commit, never a branch: the sha256 only holds for one version of a file. */
const PINNED_GITHUB_URL =
  /^https:\/\/(github\.com\/[^/]+\/[^/]+\/raw|raw\.githubusercontent\.com\/[^/]+\/[^/]+)\/[0-9a-f]{40}\//;

describe('the model manifest', () => {
  const defaults = [...new Set(Object.values(manifest.defaults))];

  it('describes the face input of every emotion model, and its labels in the project order', () => {
    for (const entry of manifest.models.filter((m) => m.role === 'emotion')) {
      expect(entry.faceInput).toEqual(
        expect.objectContaining({ size: expect.any(Number), channels: expect.stringMatching(/^(grey|rgb)$/) }),
      );
      expect(['padded-square', 'box-square']).toContain(entry.faceInput?.framing);
      expect(entry.labels).toEqual(['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised']);
    }
  });

  it.each(defaults)('default model %s can be had without a mirror folder: a download or a converter', (id) => {
    const entry = modelEntry(id);
    expect(entry.sources.length).toBeGreaterThan(0);
  });

  it('pins every source: commit-pinned URLs, sha256 of the inputs and of the converted outputs', () => {
    for (const entry of manifest.models) {
      expect(entry.sha256).toMatch(SHA256);
      for (const source of entry.sources) {
        if (source.kind === 'url') {
          expect(source.url).toMatch(PINNED_GITHUB_URL);
          continue;
        }
        if (source.kind === 'repository') {
          // The project's own file, committed beside the manifest, with the entry's sha256.
          const file = repositoryFile(source);
          expect(source.path).toBe(`models/${entry.file}`);
          expect(createHash('sha256').update(fs.readFileSync(file)).digest('hex')).toBe(entry.sha256);
          continue;
        }
        expect(source.sha256).toMatch(SHA256);
        if (source.from === 'tfjs-npm') {
          expect(source.version).toMatch(/^\d+\.\d+\.\d+$/);
          expect(source.weightsSha256).toMatch(SHA256);
        } else if (source.from === 'tfjs-graph-npm') {
          // The registry's tarball of exactly that version, checked by npm's own integrity string.
          const name = source.package.split('/').at(-1);
          expect(source.version).toMatch(/^\d+\.\d+\.\d+$/);
          expect(source.url).toBe(`https://registry.npmjs.org/${source.package}/-/${name}-${source.version}.tgz`);
          expect(source.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
          expect(source.weightsSha256).toMatch(SHA256);
        } else {
          expect(source.url).toMatch(PINNED_GITHUB_URL);
          expect(source.url.endsWith(`/${source.file}`)).toBe(true);
          expect(source.checkpointSha256).toMatch(SHA256);
        }
      }
    }
  });
});
