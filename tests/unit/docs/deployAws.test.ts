import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../helpers/testConfig';

const deployDoc = fs.readFileSync(path.join(repoRoot, 'docs', 'deploy-aws.md'), 'utf8');
const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

/** Variables a reader's shell has without the doc setting them. */
const WELL_KNOWN = new Set(['HOME', 'PATH', 'PWD', 'USER', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']);

/** The code blocks of a Markdown text, in order, joined (a variable set in one block holds in the next). */
const codeBlocks = (markdown: string) =>
  [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]).join('\n');

/** Where the shell text sets a variable (`NAME=`, `export NAME=`, `for NAME in`, `read NAME`) and where it uses one. */
function variables(shell: string) {
  const set = [
    ...shell.matchAll(/(?:^|[\s;(])(?:export\s+|local\s+)?([A-Za-z_][A-Za-z0-9_]*)=/g),
    ...shell.matchAll(/\b(?:for|read)\s+([A-Za-z_][A-Za-z0-9_]*)\b/g),
  ].map((m) => ({ name: m[1] as string, at: m.index + m[0].length }));
  const used = [...shell.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => ({
    name: m[1] as string,
    at: m.index,
  }));
  return { set, used };
}

describe('docs/deploy-aws.md', () => {
  test('sets every shell variable its code blocks use before the first use (or it is a well-known one)', () => {
    // Prepare
    const { set, used } = variables(codeBlocks(deployDoc));

    // Act
    const unset = used.filter(
      ({ name, at }) =>
        !WELL_KNOWN.has(name) && !set.some((definition) => definition.name === name && definition.at <= at),
    );

    // Assess
    expect(used.map((u) => u.name)).toEqual(expect.arrayContaining(['INGEST_BUCKET', 'API', 'INGEST_DLQ_URL']));
    expect(unset.map((u) => u.name)).toEqual([]);
  });

  test('the check finds a variable used before it is set', () => {
    const { set, used } = variables(`echo "$LATE"\nLATE=1\nfor x in a; do echo "$x \${SOON}"; done`);
    const unset = used.filter(({ name, at }) => !set.some((d) => d.name === name && d.at <= at)).map((u) => u.name);
    expect(unset).toEqual(['LATE', 'SOON']);
  });

  test('gives the same cold start numbers as the README', () => {
    // Prepare: the README's "Lambda cold start" row, and this doc's table.
    const row = /\| Lambda cold start[^|]*\| detect (\d+) ms, emotion (\d+), recognise (\d+), api (\d+)/.exec(readme);
    const table = ['detect', 'emotion', 'recognise', 'api'].map(
      (fn) => new RegExp(`^\\| ${fn} \\| (\\d+)`, 'm').exec(deployDoc.slice(deployDoc.indexOf('## Cold start')))?.[1],
    );

    // Assess
    expect(row).not.toBeNull();
    expect(table).toEqual(row?.slice(1, 5));
    expect(deployDoc).toContain('Peak RSS at most 141 MB');
    expect(readme).toContain('peak RSS 141 MB');
  });
});

describe('the published costs', () => {
  test('are those of reports/cost.json, in docs/deploy-aws.md and the README', () => {
    // Prepare: what npm run cost wrote last.
    const report = JSON.parse(fs.readFileSync(path.join(repoRoot, 'reports', 'cost.json'), 'utf8')) as {
      costs: {
        photos: string;
        arch: string;
        functions: { memoryMb: number }[];
        totalPer1000: number;
        rekognitionPer1000: number;
      }[];
    };
    const usd = (x: number) => `$${x.toFixed(3)}`;

    // Assess: every row of the report is a row of the doc's table; the README quotes the single-face totals.
    expect(report.costs).toHaveLength(4);
    for (const cost of report.costs) {
      const memory = cost.functions.map((f) => f.memoryMb).join(' / ');
      expect(deployDoc).toContain(
        `| ${cost.photos} | ${cost.arch} | ${memory} | ${usd(cost.totalPer1000)} | ${usd(cost.rekognitionPer1000)} |`,
      );
    }
    const single = report.costs.filter((c) => c.photos === 'single-face').map((c) => usd(c.totalPer1000));
    expect(readme).toContain(`single-face: ${single[0]} on x86_64, ${single[1]} on arm64`);
  });
});
