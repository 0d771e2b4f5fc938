import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../../helpers/testConfig';

/**
 * tools/ and scripts/ are built into dist/ and run without the tests: nothing in them may import from tests/ (shared
 * code lives in tools/, e.g. tools/moto/ for the moto harness the tests also use).
 */

const SOURCE_FOLDERS = ['tools', 'scripts'];
const TESTS = path.join(repoRoot, 'tests');

function sourceFiles(folder: string): string[] {
  return (fs.readdirSync(folder, { recursive: true }) as string[])
    .filter((file) => /\.(ts|js|mjs|cjs)$/.test(file))
    .map((file) => path.join(folder, file));
}

/** The specifiers of every import, export … from, dynamic import() and require() in a source file's text. */
function specifiersOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((imported) => imported.fileName);
}

/** The imports of `file` (given its text) that lead into tests/. */
function testImports(file: string, source: string): string[] {
  return specifiersOf(source).filter((specifier) => {
    const target = specifier.startsWith('.') ? path.resolve(path.dirname(file), specifier) : specifier;
    const relative = path.relative(TESTS, path.resolve(repoRoot, target));
    return relative === '' || !(relative.startsWith('..') || path.isAbsolute(relative));
  });
}

describe('tools/ and scripts/', () => {
  it('import nothing from tests/', () => {
    // Prepare
    const files = SOURCE_FOLDERS.flatMap((folder) => sourceFiles(path.join(repoRoot, folder)));

    // Act
    const offending = files.flatMap((file) =>
      testImports(file, fs.readFileSync(file, 'utf8')).map(
        (specifier) => `${path.relative(repoRoot, file)}: ${specifier}`,
      ),
    );

    // Assess
    expect(files.length).toBeGreaterThan(10);
    expect(offending).toEqual([]);
  });

  it('would be caught importing from tests/ in any form', () => {
    // Prepare
    const file = path.join(repoRoot, 'tools', 'bench', 'example.ts');
    const source = [
      "import { a } from '../../tests/helpers/a';",
      "import type { B } from '../../tests/helpers/b.js';",
      "export * from '../../tests/helpers/c';",
      "import '../../tests/helpers/d';",
      "const e = require('../../tests/helpers/e');",
      "const f = await import('../../tests/helpers/f.js');",
      "import { g } from 'tests/helpers/g';",
      "import { fine } from '../common/paths';",
      "import { alsoFine } from '../../lib/config';",
      "import sharp from 'sharp';",
    ].join('\n');

    // Act
    const offending = testImports(file, source);

    // Assess
    expect(offending).toEqual([
      '../../tests/helpers/a',
      '../../tests/helpers/b.js',
      '../../tests/helpers/c',
      '../../tests/helpers/d',
      '../../tests/helpers/e',
      '../../tests/helpers/f.js',
      'tests/helpers/g',
    ]);
  });
});
