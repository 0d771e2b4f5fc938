import sharp from 'sharp';

const JPEG = [0xff, 0xd8, 0xff];
const PNG = [0x89, 0x50, 0x4e, 0x47];

const startsWith = (bytes: Buffer, magic: number[]) => magic.every((b, i) => bytes[i] === b);

/**
 * The bytes of a face crop as Rekognition takes them: the stored crop itself when it is a JPEG or PNG (the only
 * formats Rekognition reads), else (crops stored as WebP) the same pixels encoded as JPEG.
 */
export async function rekognitionImageBytes(bytes: Buffer): Promise<Uint8Array> {
  if (startsWith(bytes, JPEG) || startsWith(bytes, PNG)) return bytes;
  return sharp(bytes).jpeg({ quality: 90 }).toBuffer();
}
