import fs from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles the web gallery (`web/`) into `dist/web`: one minified script (lit included, nothing fetched at run time)
 * with its stylesheet and the two HTML pages `facepipe serve` hands out under /ui/.
 */
async function main(): Promise<void> {
  const root = path.resolve(__dirname, '../..');
  const out = path.join(root, 'dist/web');
  await fs.mkdir(out, { recursive: true });
  await build({
    entryPoints: [path.join(root, 'web/src/main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    sourcemap: false,
    legalComments: 'none',
    outfile: path.join(out, 'app.js'),
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'login.html', 'app.css']) {
    await fs.copyFile(path.join(root, 'web', file), path.join(out, file));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
