import { manifest, modelEntry } from '../../../../lib/models/manifest';

const SHA256 = /^[0-9a-f]{64}$/;
/** GitHub URLs must name a commit, never a branch: the sha256 only holds for one version of a file. */
const PINNED_GITHUB_URL =
  /^https:\/\/(github\.com\/[^/]+\/[^/]+\/raw|raw\.githubusercontent\.com\/[^/]+\/[^/]+)\/[0-9a-f]{40}\//;

describe('the model manifest', () => {
  const defaults = [...new Set(Object.values(manifest.defaults))];

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
        expect(source.sha256).toMatch(SHA256);
        if (source.from === 'tfjs-npm') {
          expect(source.version).toMatch(/^\d+\.\d+\.\d+$/);
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
