import fs from 'node:fs';

/** A file of `size` bytes that takes no disk (a hole, as `truncate` makes it): a multi-gigabyte upload in a test. */
export function sparseFile(file: string, size: number): string {
  fs.writeFileSync(file, '');
  fs.truncateSync(file, size);
  return file;
}

function peakRss(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/**
 * How far the process's resident set rose above where it stood while `run` ran: Linux resets the peak (VmHWM) on
 * request, so an earlier peak (loading models) does not count. Elsewhere the peak since start is used, which can only
 * overstate the growth.
 */
export async function peakRssGrowth(run: () => Promise<unknown>): Promise<number> {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux
  }
  const before = process.memoryUsage().rss;
  await run();
  return peakRss() - before;
}
