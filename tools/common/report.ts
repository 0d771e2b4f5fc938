import fs from 'node:fs';
import path from 'node:path';

/** A report as the tools write it: Markdown for people, JSON (the same numbers) for machines; either may be left out. */
export interface ReportContent {
  markdown?: string;
  json?: unknown;
}

/** Writes `<dir>/<name>.md` and/or `<dir>/<name>.json` (creating `dir`) and returns the files written. */
export function writeReport(dir: string, name: string, content: ReportContent): string[] {
  const written: string[] = [];
  if (content.markdown !== undefined) written.push(writeTextFile(path.join(dir, `${name}.md`), content.markdown));
  if (content.json !== undefined) written.push(writeJsonFile(path.join(dir, `${name}.json`), content.json));
  return written;
}

/** Writes pretty-printed JSON with a final newline (creating the folder); returns the file. */
export function writeJsonFile(file: string, value: unknown): string {
  return writeTextFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function writeTextFile(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** A Markdown table; `align` right-aligns the columns marked 'right'. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  align: readonly ('left' | 'right')[] = [],
): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  const rule = header.map((_, i) => (align[i] === 'right' ? '---:' : '---'));
  return [line(header), line(rule), ...rows.map(line)].join('\n');
}
