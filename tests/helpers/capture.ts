/** Runs a CLI command in-process and captures what it prints (stderr is kept apart, never shown). */
export async function capture(run: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  const chunks: string[] = [];
  const errors: string[] = [];
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    chunks.push(String(chunk));
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    errors.push(String(chunk));
    return true;
  });
  try {
    return { code: await run(), stdout: chunks.join(''), stderr: errors.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** The JSON objects of a command's `--json` output, one per line. */
export const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
