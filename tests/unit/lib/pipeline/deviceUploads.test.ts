import { deviceUploadRefusal, UPLOAD_LATENESS_SECONDS, type UploadTicket } from '../../../../lib/pipeline/devices';

const ticket: UploadTicket = {
  imageId: 'img-1',
  device: 'pi-porch',
  key: 'devices/pi-porch/2026-12-02/a.jpg',
  uploadBy: '2026-12-02T10:05:00.000Z',
  maxBytes: 1000,
  createdAt: '2026-12-02T10:00:00.000Z',
};
const at = (seconds: number) => new Date(Date.parse(ticket.uploadBy) + seconds * 1000).toISOString();
const upload = { key: ticket.key, size: 1000, lastModified: at(0) };

describe('device uploads checked against their tickets', () => {
  test('an upload within its ticket is analysed; objects outside the devices folder are not devices’ uploads', () => {
    expect(deviceUploadRefusal(upload, ticket)).toBeUndefined();
    expect(deviceUploadRefusal({ ...upload, lastModified: at(UPLOAD_LATENESS_SECONDS) }, ticket)).toBeUndefined();
    expect(deviceUploadRefusal({ key: 'holiday/a.jpg', size: 5e9 }, undefined)).toBeUndefined();
  });

  test('no ticket, another key, too late or too large: refused with a code and a reason', () => {
    expect(deviceUploadRefusal(upload, undefined)).toMatchObject({
      code: 'UPLOAD_NOT_ALLOWED',
      message: expect.stringContaining('No upload ticket names'),
    });
    expect(deviceUploadRefusal(upload, { ...ticket, key: 'devices/pi-porch/2026-12-02/b.jpg' })).toMatchObject({
      code: 'UPLOAD_NOT_ALLOWED',
    });
    expect(deviceUploadRefusal({ ...upload, lastModified: at(UPLOAD_LATENESS_SECONDS + 1) }, ticket)).toMatchObject({
      code: 'UPLOAD_NOT_ALLOWED',
      message: expect.stringContaining('after its form expired'),
    });
    expect(deviceUploadRefusal({ ...upload, size: 1001 }, ticket)).toMatchObject({ code: 'FILE_TOO_LARGE' });
    const { maxBytes: _none, ...older } = ticket;
    expect(deviceUploadRefusal({ ...upload, size: 1001 }, older)).toBeUndefined();
  });
});
