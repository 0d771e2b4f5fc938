import { displayWidth, fitWidth, padColumns, printable } from '../lib/printable';

export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** The widest the column may grow, in terminal columns; longer cells are cut in the middle (none: never cut). */
  max?: number;
}

/**
 * A readable table for the terminal: every cell's control characters escaped, each column as wide as its widest cell
 * (up to its `max`, cutting longer cells in the middle with an ellipsis, never silently), two spaces between columns.
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) =>
    columns.map((column, i) => {
      const text = printable(row[i] ?? '');
      return column.max === undefined ? text : fitWidth(text, column.max);
    }),
  );
  const widths = columns.map((column, i) =>
    Math.max(displayWidth(column.header), ...cells.map((row) => displayWidth(row[i] ?? ''))),
  );
  const line = (row: readonly string[]) =>
    `${row
      .map((cell, i) => padColumns(cell, widths[i] ?? 0, columns[i]?.align))
      .join('  ')
      .trimEnd()}\n`;
  return line(columns.map((c) => c.header)) + cells.map(line).join('');
}
