/**
 * Which video container a file is, read from its first bytes (never its name), so a video named `.jpg` is a video and
 * an image named `.mp4` an image. AVIF and HEIC share the ISO-BMFF box layout with MP4; their brands tell them apart.
 */

export type VideoContainer = 'mp4' | 'mov' | 'webm' | 'matroska' | 'avi' | 'mpeg-ps' | 'mpeg-ts' | 'mpeg-video';

/** Major brands of ISO-BMFF images (AVIF, HEIF/HEIC): sharp reads those, they are not videos. */
const IMAGE_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);
/** Top-level QuickTime atoms a .mov may start with when it has no `ftyp`. */
const QUICKTIME_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);

const ascii = (bytes: Buffer, start: number, end: number) => bytes.subarray(start, end).toString('latin1');

/** The video container of `bytes` (its first 4 KiB suffice), or undefined when they are no video we read. */
export function videoContainerOf(bytes: Buffer): VideoContainer | undefined {
  if (bytes.length < 12) return undefined;
  const box = ascii(bytes, 4, 8);
  if (box === 'ftyp') {
    const brand = ascii(bytes, 8, 12);
    if (IMAGE_BRANDS.has(brand)) return undefined;
    return brand === 'qt  ' ? 'mov' : 'mp4';
  }
  if (QUICKTIME_ATOMS.has(box)) return 'mov';
  if (bytes.readUInt32BE(0) === 0x1a45dfa3) {
    return ascii(bytes, 0, Math.min(bytes.length, 64)).includes('webm') ? 'webm' : 'matroska';
  }
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'AVI ') return 'avi';
  if (bytes.readUInt32BE(0) === 0x000001ba) return 'mpeg-ps';
  if (bytes.readUInt32BE(0) === 0x000001b3) return 'mpeg-video';
  if (bytes[0] === 0x47 && bytes.length > 376 && bytes[188] === 0x47 && bytes[376] === 0x47) return 'mpeg-ts';
  return undefined;
}

/** What a user reads for a container: MP4, QuickTime, WebM, … */
export function containerName(container: VideoContainer): string {
  return {
    mp4: 'MP4',
    mov: 'QuickTime (MOV)',
    webm: 'WebM',
    matroska: 'Matroska (MKV)',
    avi: 'AVI',
    'mpeg-ps': 'MPEG program stream',
    'mpeg-ts': 'MPEG transport stream',
    'mpeg-video': 'MPEG video',
  }[container];
}
