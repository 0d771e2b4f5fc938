import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { markdownTable, writeJsonFile, writeReport } from '../../../../tools/common/report';

describe('markdownTable', () => {
  it('writes a header, a rule (right-aligned where asked) and one row per entry', () => {
    expect(
      markdownTable(
        ['function', 'ms'],
        [
          ['detect', 12],
          ['api', '3.5'],
        ],
        ['left', 'right'],
      ),
    ).toBe('| function | ms |\n| --- | ---: |\n| detect | 12 |\n| api | 3.5 |');
  });
});

describe('writeReport', () => {
  it('writes <name>.md and <name>.json into a folder it creates, only those given', () => {
    // Prepare
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-report-'));
    const dir = path.join(root, 'reports', 'new');
    try {
      // Act
      const both = writeReport(dir, 'bench', { markdown: '# bench\n', json: { a: 1 } });
      const markdownOnly = writeReport(dir, 'lambda-bench-x', { markdown: '# lambda\n' });
      const file = writeJsonFile(path.join(root, 'elsewhere', 'reference.json'), { b: [1, 2] });

      // Assess
      expect(both).toEqual([path.join(dir, 'bench.md'), path.join(dir, 'bench.json')]);
      expect(markdownOnly).toEqual([path.join(dir, 'lambda-bench-x.md')]);
      expect(fs.readdirSync(dir).sort()).toEqual(['bench.json', 'bench.md', 'lambda-bench-x.md']);
      expect(fs.readFileSync(path.join(dir, 'bench.json'), 'utf8')).toBe('{\n  "a": 1\n}\n');
      expect(fs.readFileSync(file, 'utf8')).toBe('{\n  "b": [\n    1,\n    2\n  ]\n}\n');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
