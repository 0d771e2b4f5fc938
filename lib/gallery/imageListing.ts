import type { FaceFilter } from '../pipeline/queries';
import { findFaces } from '../pipeline/queries';
import type { ImageRecord } from '../pipeline/records';
import type { StorageContext } from '../pipeline/stages/context';
import type { Emotion } from '../vision/types';

/**
 * The images of the gallery's grid, newest first, with the filters of its toolbar, from the results table's listings:
 * its images-by-time index (every upload and video with a record, never the bucket's listing; a device's by the
 * `devices/<name>/` folder of their keys), the faces listings (a person, an emotion, the unknown faces; the page's
 * records read in batches) and the failed images. An upload shows once the detect stage has written its record.
 */
export interface ImageFilter {
  person?: string;
  emotion?: Emotion;
  unknown?: true;
  failed?: true;
  /** Only a device's uploads (`devices/<name>/…`). */
  device?: string;
  /** ISO times, inclusive: when the image arrived (or its face was detected, with a face filter). */
  since?: string;
  until?: string;
}

export interface GalleryImage {
  imageId: string;
  key: string;
  status: ImageRecord['status'];
  faces: number | null;
  width: number | null;
  height: number | null;
  /** When it arrived (its record's creation). */
  at: string;
  error: { code: string; message: string } | null;
  /** The device that uploaded it, for keys under `devices/<name>/`. */
  device: string | null;
  /**
   * The key of the thumbnail the grid shows, in the thumbnails bucket: the whole image's, or for a video the best face
   * of its first track (a video has no picture of its own); null when there is none.
   */
  thumbnail: string | null;
  /** Set for a video upload (its page is the video view): its length and how many face tracks it has. */
  video: { durationSeconds: number | null; tracks: number | null } | null;
}

export interface ImagePage {
  images: GalleryImage[];
  /** How many images match the filter in all. */
  total: number;
}

/** The most images one filter looks at (a bound on the records read for a listing). */
export const MAX_LISTED_IMAGES = 10_000;

interface Candidate {
  imageId: string;
  key: string;
  at: string;
  /** Its record, when the listing read it already (the images-by-time and failed listings). */
  record?: ImageRecord;
}

const deviceOfKey = (key: string) => /^devices\/([^/]+)\//.exec(key)?.[1] ?? null;

const newestFirst = (a: Candidate, b: Candidate) =>
  a.at === b.at ? a.imageId.localeCompare(b.imageId) : a.at < b.at ? 1 : -1;

async function candidates(context: StorageContext, filter: ImageFilter): Promise<Candidate[]> {
  const range = { since: filter.since, until: filter.until, limit: MAX_LISTED_IMAGES };
  const faceFilter: FaceFilter | undefined = filter.person
    ? { person: filter.person }
    : filter.emotion
      ? { emotion: filter.emotion }
      : filter.unknown
        ? { unknown: true }
        : undefined;
  if (faceFilter) {
    // Faces come newest first; an image is as new as its newest matching face. A face of a video's frame lists its
    // video (the frame is no upload of its own; the video's key comes with its record).
    const seen = new Map<string, Candidate>();
    const videoIds = new Set<string>();
    for (const face of await findFaces(context, faceFilter, range)) {
      const imageId = face.frame?.videoId ?? face.imageId;
      if (face.frame) videoIds.add(imageId);
      if (!seen.has(imageId))
        seen.set(imageId, { imageId, key: face.frame ? '' : face.sourceKey, at: face.detectedAt });
    }
    // The videos' records give their keys (the device filter reads the key); a video gone is left out.
    const videos = videoIds.size > 0 ? await context.results.getImages([...videoIds]) : new Map();
    return [...seen.values()].flatMap((candidate) => {
      if (!videoIds.has(candidate.imageId)) return [candidate];
      const record = videos.get(candidate.imageId);
      return record ? [{ ...candidate, key: record.key, record }] : [];
    });
  }
  if (filter.failed) {
    return (await context.results.failedImages(range)).map((image) => ({
      imageId: image.imageId,
      key: image.key,
      at: image.createdAt,
      record: image,
    }));
  }
  // The results table's images-by-time index (not the bucket's listing): records come with it.
  return (await context.results.imagesByTime(range)).map((image) => ({
    imageId: image.imageId,
    key: image.key,
    at: image.createdAt,
    record: image,
  }));
}

/** One page of the images matching `filter`, newest first (`offset` and `limit` count images). */
export async function listImages(
  context: StorageContext,
  filter: ImageFilter,
  page: { offset: number; limit: number },
): Promise<ImagePage> {
  let found = await candidates(context, filter);
  if (filter.device !== undefined) found = found.filter((c) => deviceOfKey(c.key) === filter.device);
  found.sort(newestFirst);
  const shown = found.slice(page.offset, page.offset + page.limit);
  const records = new Map<string, ImageRecord>();
  const unread: Candidate[] = [];
  for (const candidate of shown) {
    if (candidate.record) records.set(candidate.imageId, candidate.record);
    else unread.push(candidate);
  }
  if (unread.length > 0) {
    for (const [imageId, record] of await context.results.getImages(unread.map((c) => c.imageId))) {
      records.set(imageId, record);
    }
  }
  const videoThumbnails = await firstTrackThumbnails(context, [...records.values()]);
  const images: GalleryImage[] = [];
  for (const candidate of shown) {
    const record = records.get(candidate.imageId);
    if (!record) continue;
    images.push(galleryImage(record, videoThumbnails.get(candidate.imageId)));
  }
  return { images, total: found.length };
}

/** The thumbnail of each finished video's first track's best face (read per listing: a page holds few videos). */
async function firstTrackThumbnails(context: StorageContext, records: ImageRecord[]): Promise<Map<string, string>> {
  const videos = records.filter((r) => r.video && r.status === 'done' && (r.video.tracks ?? 0) > 0);
  const found = await Promise.all(
    videos.map(async (v) => [v.imageId, (await context.results.tracksOfVideo(v.imageId))[0]] as const),
  );
  return new Map(found.flatMap(([videoId, track]) => (track ? [[videoId, track.bestFace.thumbnailKey]] : [])));
}

function galleryImage(record: ImageRecord, videoThumbnail: string | undefined): GalleryImage {
  const thumbnail = record.thumbnailKey !== undefined && record.sourceErased !== true ? record.thumbnailKey : null;
  return {
    imageId: record.imageId,
    key: record.key,
    status: record.status,
    faces: record.faceCount ?? null,
    width: record.width ?? null,
    height: record.height ?? null,
    at: record.createdAt,
    error: record.error ?? null,
    device: deviceOfKey(record.key),
    thumbnail: thumbnail ?? videoThumbnail ?? null,
    video: record.video
      ? { durationSeconds: record.video.durationSeconds ?? null, tracks: record.video.tracks ?? null }
      : null,
  };
}
