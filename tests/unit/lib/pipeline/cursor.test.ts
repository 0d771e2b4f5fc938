import { FacepipeError } from '../../../../lib/errors';
import { cursorPosition, nextCursor } from '../../../../lib/pipeline/cursor';

const position = (i: number) => ({ at: `2026-03-0${i}T10:00:00.000Z`, id: `${'a'.repeat(24)}-${i}` });

describe('paging cursors', () => {
  it('a full page names where the next starts; a short page has no cursor', () => {
    // Prepare
    const page = [1, 2, 3];

    // Act
    const full = nextCursor('emotion:happy', page, 3, position);
    const short = nextCursor('emotion:happy', page, 4, position);

    // Assess
    expect(full).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(short).toBeUndefined();
    expect(cursorPosition(full, 'emotion:happy', 'next')).toEqual(position(3));
  });

  it('refuses a cursor of another listing: a page of one query never reads another query', () => {
    const cursor = nextCursor('person:obama', [1], 1, position);

    const error = (() => {
      try {
        cursorPosition(cursor, 'person:biden', 'next');
      } catch (e) {
        return e;
      }
    })();

    expect(error).toBeInstanceOf(FacepipeError);
    expect(error).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('another query') });
    expect(() => cursorPosition(cursor, 'failed', 'next')).toThrow('another query');
  });

  it.each([
    ['a listing of another kind', JSON.stringify([1, '2026-03-01T10:00:00.000Z', 'a'.repeat(24)])],
    ['a time that is not ISO', JSON.stringify(['unknown', '2026-03-01', 'a'.repeat(24)])],
    ['an id that is not a face or image id', JSON.stringify(['unknown', '2026-03-01T10:00:00.000Z', "x' OR 1=1"])],
    ['an index key', JSON.stringify(['unknown', '2026-03-01T10:00:00.000Z#aaaaaaaaaaaaaaaaaaaaaaaa', 'a'.repeat(24)])],
    ['extra parts', JSON.stringify(['unknown', '2026-03-01T10:00:00.000Z', 'a'.repeat(24), 'more'])],
    ['not JSON', 'PERSON#obama'],
  ])('refuses a tampered cursor (%s)', (_what, content) => {
    const token = Buffer.from(content, 'utf8').toString('base64url');

    expect(() => cursorPosition(token, 'unknown', 'next')).toThrow('next must be a cursor from a previous page.');
  });
});
