import { readFile } from 'node:fs/promises';
import { type Box, EMOTIONS, type Emotion } from '../../lib/vision/types';

/**
 * Faces of real photos labelled by hand for the emotion check (tools/emotion/realPhotos.csv): the image (relative to
 * the data folder), the face's box as the shipped detector found it when it was labelled (original pixels), and
 * the expression. Only faces whose expression is unambiguous at a glance were labelled: 54 of the 84 faces the
 * detector finds at 60 px or more in verification/deepface_unit_dataset and face_recognition_test_images (32 happy,
 * 22 neutral; no other expression is unambiguous in those photos, so this set checks framing, not the rare classes).
 */
export interface RealPhotoFace {
  image: string;
  box: Box;
  label: Emotion;
  /** The box as text, for messages. */
  where: string;
  /** Whether a detected box is this face (IoU at least 0.5 with the labelled box). */
  matches: (box: Box) => boolean;
}

function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

export async function loadRealPhotoFaces(csv: string): Promise<RealPhotoFace[]> {
  const [header, ...rows] = (await readFile(csv, 'utf8')).split(/\r?\n/).filter((line) => line.trim() !== '');
  if (header !== 'image,x,y,width,height,label')
    throw new Error(`${csv}: expected the header image,x,y,width,height,label`);
  return rows.map((line, i) => {
    const [image, x, y, width, height, label] = line.split(',');
    const box = { x: Number(x), y: Number(y), width: Number(width), height: Number(height) };
    if (
      !image ||
      !Object.values(box).every(Number.isFinite) ||
      !(EMOTIONS as readonly string[]).includes(label ?? '')
    ) {
      throw new Error(`${csv}:${i + 2}: bad row "${line}"`);
    }
    return {
      image,
      box,
      label: label as Emotion,
      where: `${box.x},${box.y} ${box.width}x${box.height}`,
      matches: (other: Box) => iou(box, other) >= 0.5,
    };
  });
}
