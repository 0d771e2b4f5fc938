import { cookieValue, SESSION_COOKIE, WebSessions } from '../../../../lib/adapters/fastify/webSessions';
import { galleryUploadKey, imageFilterOf } from '../../../../lib/adapters/fastify/webUi';
import { FacepipeError } from '../../../../lib/errors';
import { bucketStart, countEmotions } from '../../../../lib/gallery/emotionTimeline';
import { editPerson } from '../../../../lib/pipeline/personDetails';
import type { ResultsStore } from '../../../../lib/pipeline/ports';
import type { PersonRecord } from '../../../../lib/pipeline/records';
import type { StorageContext } from '../../../../lib/pipeline/stages/context';

const emotion = (label: 'happy' | 'sad') => ({ label, confidence: 0.9, scores: {}, rekognition: [] }) as never;

describe('the emotion chart', () => {
  test('counts faces per hour or day by emotion, oldest first, leaving out faces with no emotion read', () => {
    const faces = [
      { detectedAt: '2026-05-02T10:59:59.999Z', emotion: emotion('happy') },
      { detectedAt: '2026-05-01T23:00:00.000Z', emotion: emotion('sad') },
      { detectedAt: '2026-05-02T10:00:00.000Z', emotion: emotion('happy') },
      { detectedAt: '2026-05-02T11:00:00.000Z', emotion: emotion('sad') },
      { detectedAt: '2026-05-02T11:30:00.000Z', emotion: undefined },
    ];
    const byDay = countEmotions(faces, 'day');
    expect(byDay.map((b) => [b.at, b.counts.happy, b.counts.sad, b.counts.neutral])).toEqual([
      ['2026-05-01T00:00:00.000Z', 0, 1, 0],
      ['2026-05-02T00:00:00.000Z', 2, 1, 0],
    ]);
    const byHour = countEmotions(faces, 'hour');
    expect(byHour.map((b) => [b.at, b.counts.happy, b.counts.sad])).toEqual([
      ['2026-05-01T23:00:00.000Z', 0, 1],
      ['2026-05-02T10:00:00.000Z', 2, 0],
      ['2026-05-02T11:00:00.000Z', 0, 1],
    ]);
    expect(bucketStart('2026-05-02T10:59:59.999Z', 'hour')).toBe('2026-05-02T10:00:00.000Z');
  });
});

describe('the gallery’s browser sessions', () => {
  const token = 'fpa1.0123456789abcdef0123456789abcdef0123456789';
  const at = { now: new Date('2026-05-01T10:00:00Z') };
  const sessions = () => new WebSessions(token, { now: () => at.now });
  const request = (method: string, session: string | undefined, header?: string) => ({
    method,
    headers: {
      ...(session ? { cookie: `other=1; ${SESSION_COOKIE}=${session}` } : {}),
      ...(header ? { 'x-facepipe-ui': header } : {}),
    },
  });

  test('a login code works once, and not after 10 minutes', () => {
    at.now = new Date('2026-05-01T10:00:00Z');
    const web = sessions();
    const code = web.loginCode();
    const session = web.redeemCode(code);
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(web.redeemCode(code)).toBeUndefined();
    const late = web.loginCode();
    at.now = new Date('2026-05-01T10:10:00.001Z');
    expect(web.redeemCode(late)).toBeUndefined();
    expect(web.redeemCode('made-up')).toBeUndefined();
  });

  test('the admin token logs in; anything else does not', () => {
    const web = sessions();
    expect(web.loginWithToken(` ${token}\n`)).toBeDefined();
    expect(web.loginWithToken(`${token}x`)).toBeUndefined();
    expect(web.loginWithToken('')).toBeUndefined();
  });

  test('a session reads; it changes things only with the gallery’s header; it ends after 12 hours or at logout', () => {
    at.now = new Date('2026-05-01T10:00:00Z');
    const web = sessions();
    const session = web.redeemCode(web.loginCode()) as string;
    expect(web.admits(request('GET', session))).toBe(true);
    expect(web.admits(request('DELETE', session))).toBe(false);
    expect(web.admits(request('DELETE', session, '1'))).toBe(true);
    expect(web.admits(request('GET', 'forged'))).toBe(false);
    expect(web.admits(request('GET', undefined))).toBe(false);
    expect(web.cookie(session)).toBe(`${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200`);
    at.now = new Date('2026-05-01T22:00:00.001Z');
    expect(web.admits(request('GET', session))).toBe(false);
    at.now = new Date('2026-05-01T10:00:00Z');
    const other = web.redeemCode(web.loginCode()) as string;
    web.end(other);
    expect(web.admits(request('GET', other))).toBe(false);
  });

  test('cookieValue finds one cookie among others', () => {
    expect(cookieValue('a=1; facepipe_ui=abc=; b=2', 'facepipe_ui')).toBe('abc=');
    expect(cookieValue(undefined, 'facepipe_ui')).toBeUndefined();
  });
});

describe('the images grid’s filters and uploads', () => {
  test('at most one of person, emotion, unknown and failed; each checked as the API checks it', () => {
    expect(imageFilterOf({ person: 'obama', since: '2026-01-01', device: 'pi-door' })).toEqual({
      person: 'obama',
      device: 'pi-door',
      since: '2026-01-01T00:00:00.000Z',
      until: undefined,
    });
    expect(imageFilterOf({ emotion: 'CALM' })).toMatchObject({ emotion: 'neutral' });
    const refused = (query: Record<string, string>) => {
      try {
        imageFilterOf(query);
      } catch (error) {
        return error instanceof FacepipeError ? `${error.code}: ${error.message}` : String(error);
      }
      return 'accepted';
    };
    expect(refused({ person: 'obama', unknown: 'true' })).toBe(
      'INVALID_OPTION: Give at most one of person, emotion, unknown, failed.',
    );
    expect(refused({ failed: 'yes' })).toBe('INVALID_OPTION: failed takes only the value true.');
    expect(refused({ device: '../x' })).toBe('INVALID_OPTION: device must be a device name.');
    expect(refused({ since: '2026-02-01', until: '2026-01-01' })).toMatch(/^INVALID_OPTION: since must not be later/);
    expect(refused({ key: 'x' })).toMatch(/^INVALID_OPTION: Unknown query parameter\(s\) key/);
  });

  test('an upload’s key is under gallery/<day>/, its name reduced to safe characters', () => {
    const at = new Date('2026-05-01T10:20:30.456Z');
    expect(galleryUploadKey('holiday photo (1).jpg', at)).toBe('gallery/2026-05-01/102030456-holiday_photo_(1).jpg');
    expect(galleryUploadKey('../../etc/passwd', at)).toBe('gallery/2026-05-01/102030456-__.._etc_passwd');
    expect(galleryUploadKey('', at)).toBe('gallery/2026-05-01/102030456-photo');
  });
});

describe('editing a person', () => {
  const person: PersonRecord = {
    personId: 'obama',
    revision: 'r1',
    name: 'Barack Obama',
    details: { team: 'blue' },
    embeddings: [new Float32Array([1, 0])],
    photos: ['obama.jpg'],
    createdAt: '2026-05-01T10:00:00.000Z',
    updatedAt: '2026-05-01T10:00:00.000Z',
  };
  const storeWith = (stored: PersonRecord | undefined, conflicts = 0) => {
    const state = { stored, conflicts };
    const results = {
      getPerson: async () => state.stored,
      putPerson: async (next: PersonRecord, expected: string | undefined) => {
        if (state.conflicts > 0) {
          state.conflicts--;
          return false;
        }
        if (state.stored?.revision !== expected) return false;
        state.stored = next;
        return true;
      },
    } as unknown as ResultsStore;
    const context = { results, now: () => new Date('2026-05-02T08:00:00Z') } as unknown as StorageContext;
    return { state, context };
  };

  test('changes the name or details only, with a new revision; embeddings and photos stay', async () => {
    const { state, context } = storeWith(person);
    const edited = await editPerson(context, 'obama', { details: { team: 'red' } });
    expect(edited).toMatchObject({ name: 'Barack Obama', details: { team: 'red' }, photos: ['obama.jpg'] });
    expect(edited.revision).not.toBe('r1');
    expect(edited.updatedAt).toBe('2026-05-02T08:00:00.000Z');
    expect(state.stored?.embeddings).toEqual(person.embeddings);
    const renamed = await editPerson(context, 'obama', { name: '  Barack H. Obama ' });
    expect(renamed).toMatchObject({ name: 'Barack H. Obama', details: { team: 'red' } });
  });

  test('retries when another write got there first; refuses nobody, nothing, and bad names', async () => {
    expect((await editPerson(storeWith(person, 2).context, 'obama', { name: 'B' })).name).toBe('B');
    await expect(editPerson(storeWith(person, 9).context, 'obama', { name: 'B' })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(editPerson(storeWith(undefined).context, 'obama', { name: 'B' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(editPerson(storeWith(person).context, 'obama', {})).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(editPerson(storeWith(person).context, 'obama', { name: ' ' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(
      editPerson(storeWith(person).context, 'obama', { details: [] as unknown as Record<string, unknown> }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
