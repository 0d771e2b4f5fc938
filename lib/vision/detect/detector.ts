import type { ScaledRgbImage } from '../image/decode';
import type { DetectedFace } from '../types';

/** A face detector family: runs on one resized view of an image, returns faces in original-image pixels. */
export interface FaceDetector {
  readonly modelId: string;
  /** The view's maximum size the detector takes, or undefined for any size. */
  readonly fixedInput: [number, number] | undefined;
  /** Raw detections above `scoreThreshold`, before NMS, mapped to original-image pixels. */
  detect(view: ScaledRgbImage, scoreThreshold: number): Promise<DetectedFace[]>;
}
