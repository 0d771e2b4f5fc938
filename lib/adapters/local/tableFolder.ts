import fs from 'node:fs/promises';

/**
 * Replacing the table's LevelDB folder with a complete new one (a restore, a purge after erasure), safely against a
 * process killed at any point: the new folder is built as `table.building`, renamed `table.built` once complete,
 * then swapped in (`table` moved aside to `table.replaced`, `table.built` renamed `table`, the old one removed).
 * Whoever next takes the data directory's lock finishes or discards what was left (`finishInterruptedSwap`).
 */
export const buildingFolder = (tableDir: string) => `${tableDir}.building`;
const builtFolder = (tableDir: string) => `${tableDir}.built`;
const replacedFolder = (tableDir: string) => `${tableDir}.replaced`;

/** Marks the building folder complete: from here on, it will take the table's place even after a crash. */
export async function markBuilt(tableDir: string): Promise<void> {
  await fs.rename(buildingFolder(tableDir), builtFolder(tableDir));
}

/** Puts the built folder in the table's place; the replaced one is removed. */
export async function swapInBuilt(tableDir: string): Promise<void> {
  const replaced = replacedFolder(tableDir);
  if (await exists(tableDir)) await fs.rename(tableDir, replaced);
  await fs.rename(builtFolder(tableDir), tableDir);
  await fs.rm(replaced, { recursive: true, force: true });
}

/** Removes a building folder (a build that failed or was cut short). */
export async function discardBuilding(tableDir: string): Promise<void> {
  await fs.rm(buildingFolder(tableDir), { recursive: true, force: true });
}

/**
 * Finishes a swap a killed process left: a complete built folder takes the table's place; a partial one is
 * removed; so is a replaced table. Run by every process that takes the data directory's lock, before anything
 * opens the table (the leftovers may hold erased data, so they never stay).
 */
export async function finishInterruptedSwap(tableDir: string): Promise<void> {
  await discardBuilding(tableDir);
  if (await exists(builtFolder(tableDir))) {
    await swapInBuilt(tableDir);
    return;
  }
  const replaced = replacedFolder(tableDir);
  if (!(await exists(replaced))) return;
  if (await exists(tableDir)) await fs.rm(replaced, { recursive: true, force: true });
  else await fs.rename(replaced, tableDir);
}

const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false,
  );
