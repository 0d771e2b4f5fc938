import { facesTable, failedTable, tracksTable } from '../../../../cli/commands/query';
import type { TrackRecord } from '../../../../lib/pipeline/records';
import { faceView, trackView } from '../../../../lib/pipeline/views';
import { displayWidth } from '../../../../lib/printable';
import { storedFaceFactory, storedFailedImageFactory, storedPersonFactory } from '../../../helpers/storedRecords';

/** Where each cell of a line starts and ends, in terminal columns (cells are apart by two spaces or more). */
const cells = (line: string) =>
  [...line.matchAll(/\S+(?: \S+)*/g)].map((m) => {
    const start = displayWidth(line.slice(0, m.index));
    return { start, end: start + displayWidth(m[0]) };
  });

/** Left-aligned columns start, and right-aligned ones (# and age) end, where their header does. */
function expectAligned(row: string, header: string) {
  const [row_, header_] = [cells(row), cells(header)];
  expect(row_).toHaveLength(header_.length);
  header_.forEach((h, i) => {
    const edge = i === 2 || i === 5 ? 'end' : 'start';
    expect([i, row_[i]?.[edge]]).toEqual([i, h[edge]]);
  });
}

describe('the query table', () => {
  test('aligns every column past face 10, and cuts a long image name in the middle, never from the left', () => {
    // Prepare: 12 faces of a photo with a long name, and one of a short name.
    const long = `holiday 2024/the whole family at grandma's ${'very '.repeat(20)}long weekend/IMG_0001.jpg`;
    const faces = [
      ...Array.from({ length: 12 }, (_, i) => storedFaceFactory(long, i, i % 2 ? 'obama' : null)),
      storedFaceFactory('a.jpg', 3, 'biden'),
    ];

    // Act
    const people = new Map(['obama', 'biden'].map((id) => [id, storedPersonFactory(id)]));
    const lines = facesTable(faces.map((face) => faceView(face, people)))
      .trimEnd()
      .split('\n');

    // Assess: header, 13 rows, the count; every row's index column ends where the header's does.
    expect(lines).toHaveLength(15);
    expect(lines.at(-1)).toBe('13 face(s)');
    const header = lines[0] as string;
    expect(header).toMatch(/^detected at\s+image\s+#\s+person\s+emotion\s+age\s+gender$/);
    const indexEnd = header.indexOf('#') + 1;
    const rows = lines.slice(1, -1);
    for (const [i, row] of rows.entries()) {
      expect(row.slice(0, indexEnd)).toMatch(new RegExp(`\\s${i < 12 ? i : 3}$`));
      expectAligned(row, header);
    }
    // The long name: its folder and its file name both show, around one ellipsis, at most 60 columns.
    const shown = (rows[0] as string).slice(header.indexOf('image'), header.indexOf('#')).trim();
    expect(shown).toMatch(/^holiday 2024\/the whole family.*….*long weekend\/IMG_0001\.jpg$/);
    expect(displayWidth(shown)).toBeLessThanOrEqual(60);
    expect(rows[12]).toMatch(/ a\.jpg\s+3\s+biden 0\.81\s+happy 95%\s+41\s+female$/);
  });

  test('lists failed images with the whole error message', () => {
    // Prepare
    const message = `The file ends early: ${'x'.repeat(150)}; upload it again.`;

    // Act
    const table = failedTable([storedFailedImageFactory('broken.jpg', message)]);

    // Assess
    expect(table).toContain(`broken.jpg  CORRUPT_IMAGE: ${message}\n`);
    expect(table.endsWith('1 failed image(s)\n')).toBe(true);
  });
});

describe('the tracks table', () => {
  test('says which unknown tracks are glimpses, and names the others with their share', () => {
    // Prepare: a named track, an unknown one, and a one-frame glimpse.
    const track = (index: number, personId: string | null, glimpse: boolean): TrackRecord => ({
      videoId: 'v',
      index,
      trackId: `v-${index}`,
      etag: 'e',
      firstSeen: index,
      lastSeen: index + (glimpse ? 0 : 1.5),
      faces: [{ faceId: `f${index}`, index, at: index }],
      bestFace: { faceId: `f${index}`, index, at: index, cropKey: 'c', thumbnailKey: 't', quality: 0.5 },
      identity: { personId, votes: personId ? 3 : 0, share: personId ? 0.75 : 0, similarity: 0.5 },
      emotions: [],
      ...(glimpse ? { glimpse: true as const } : {}),
    });
    const people = new Map([['obama', storedPersonFactory('obama')]]);

    // Act
    const views = [track(0, 'obama', false), track(1, null, false), track(2, null, true)].map((t) =>
      trackView(t, people),
    );
    const lines = tracksTable(views).trimEnd().split('\n');

    // Assess
    expect(views.map((v) => v.glimpse)).toEqual([false, false, true]);
    expect(lines[1]).toContain('obama 75%');
    expect(lines[2]).toMatch(/\bunknown\b(?! \(glimpse\))/);
    expect(lines[3]).toContain('unknown (glimpse)');
    expect(lines.at(-1)).toBe('3 track(s)');
  });
});
