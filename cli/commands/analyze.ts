import fs from 'node:fs/promises';
import path from 'node:path';
import { readFileOrRefuse } from '../../lib/adapters/local/fileWithin';
import { maxUploadBytes } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { describeError, FacepipeError } from '../../lib/errors';
import { analyzeVideoFile, type VideoAnalysis } from '../../lib/pipeline/videoAnalysis';
import { faceJson } from '../../lib/pipeline/views';
import { jsonLine, printable, quoteValue } from '../../lib/printable';
import { FaceAnalyser } from '../../lib/vision/analyser';
import { containerName, videoContainerOf } from '../../lib/vision/video/container';
import { expandInputs } from '../inputs';
import { Progress } from '../progress';

export interface AnalyzeFlags {
  json?: boolean;
  embeddings?: boolean;
  assumeFace?: boolean;
  crops?: string;
}

/** `facepipe analyze`: one result per input; a bad file is reported and the rest go on. Returns the exit code. */
export async function analyzeCommand(inputs: string[], flags: AnalyzeFlags, config: FacepipeConfig): Promise<number> {
  const files = await expandInputs(inputs);
  if (files.length === 0) {
    process.stderr.write('No image files found in the given paths.\n');
    return 2;
  }
  const analyser = await FaceAnalyser.create(config);
  if (flags.crops) await fs.mkdir(flags.crops, { recursive: true });
  const progress = new Progress('analyze', files.length, { enabled: Boolean(flags.json) });
  let failed = 0;
  let faces = 0;
  const started = Date.now();
  for (const file of files) {
    const t0 = performance.now();
    try {
      if (file.missing) throw new FacepipeError('FILE_NOT_FOUND', `No such file or folder: ${quoteValue(file.path)}`);
      if (await isVideoFile(file.path, maxUploadBytes(config), config.video.maxBytes)) {
        const video = await analyzeVideoFile(analyser, file.path);
        faces += video.tracks.length;
        printVideo(file.path, video, flags.json);
        progress.tick();
        continue;
      }
      const bytes = await readFileOrRefuse(file.path, config.decode.maxBytes);
      const result = await analyser.analyze(bytes, { assumeFace: flags.assumeFace, crops: Boolean(flags.crops) });
      faces += result.faces.length;
      if (flags.crops) {
        const stem = path.basename(file.path, path.extname(file.path));
        const ext = config.crop.format === 'webp' ? 'webp' : 'jpg';
        await Promise.all(
          result.faces.map((face, i) =>
            face.crop
              ? fs.writeFile(path.join(flags.crops as string, `${stem}_face${i}.${ext}`), face.crop)
              : undefined,
          ),
        );
      }
      const ms = Math.round((performance.now() - t0) * 10) / 10;
      if (flags.json) {
        const line = {
          file: file.path,
          width: result.width,
          height: result.height,
          faces: result.faces.map((face) => faceJson(face, { embedding: flags.embeddings })),
          ms,
        };
        process.stdout.write(jsonLine(line));
      } else {
        process.stdout.write(
          `${printable(file.path)}: ${result.width}x${result.height}, ${result.faces.length} face(s), ${ms} ms\n`,
        );
        result.faces.forEach((face, i) => {
          const b = face.box;
          const who = face.age !== undefined && face.gender ? `, ~${Math.round(face.age)} y, ${face.gender.label}` : '';
          process.stdout.write(
            `  #${i} box ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}x${Math.round(b.height)} ` +
              `score ${face.score.toFixed(2)}  ${face.emotion.label} ${(face.emotion.confidence * 100).toFixed(0)}%${who}\n`,
          );
        });
      }
    } catch (error) {
      failed++;
      const described = describeError(error);
      if (flags.json) process.stdout.write(jsonLine({ file: file.path, error: described }));
      else process.stdout.write(`${printable(file.path)}: FAILED ${described.code}: ${printable(described.message)}\n`);
    }
    progress.tick();
  }
  progress.done();
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(
    `${files.length} file(s), ${faces} face(s), ${failed} failed, ${(files.length / Math.max(seconds, 1e-3)).toFixed(1)} images/s\n`,
  );
  return failed > 0 ? 1 : 0;
}

/** Whether the file is a video by its first bytes; FILE_TOO_LARGE for one over the video limit (never read). */
async function isVideoFile(file: string, maxBytes: number, videoMaxBytes: number): Promise<boolean> {
  const handle = await fs.open(file, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(4096, size));
    await handle.read(head, 0, head.length, 0);
    const container = videoContainerOf(head);
    if (!container) return false;
    if (size > Math.min(maxBytes, videoMaxBytes)) {
      throw new FacepipeError(
        'FILE_TOO_LARGE',
        `The ${containerName(container)} video is ${size} bytes; the limit is ${videoMaxBytes} bytes (FACEPIPE_VIDEO_MAX_BYTES).`,
      );
    }
    return true;
  } finally {
    await handle.close();
  }
}

const r1 = (value: number) => Math.round(value * 10) / 10;

/** A video's analysis: one JSON line, or a summary line and one line per track. */
function printVideo(file: string, video: VideoAnalysis, json: boolean | undefined): void {
  const { info } = video;
  if (json) {
    process.stdout.write(
      jsonLine({
        file,
        video: {
          container: info.demuxer,
          codec: info.codec,
          width: info.width,
          height: info.height,
          rotation: info.rotation,
          durationSeconds: info.durationSeconds ?? null,
          fps: info.fps ?? null,
          framesSampled: video.framesSampled,
          shotCuts: video.cuts,
          brokenAt: video.brokenAt ?? null,
        },
        tracks: video.tracks.map((t) => ({
          ...t,
          bestFace: {
            ...t.bestFace,
            box: {
              x: r1(t.bestFace.box.x),
              y: r1(t.bestFace.box.y),
              width: r1(t.bestFace.box.width),
              height: r1(t.bestFace.box.height),
            },
          },
        })),
        emotions: { windowSeconds: video.windowSeconds, windows: video.windows },
        ms: Math.round(video.timings.total),
        sampleMs: Math.round(video.timings.sample),
      }),
    );
    return;
  }
  const broken = video.brokenAt ? `, broke at ${video.brokenAt.at} s (${video.brokenAt.reason})` : '';
  process.stdout.write(
    `${printable(file)}: video ${info.width}x${info.height}, ${info.durationSeconds ?? '?'} s, ` +
      `${video.framesSampled} frames sampled, ${video.cuts.length} shot cut(s), ${video.tracks.length} track(s)${printable(broken)}, ` +
      `${Math.round(video.timings.total)} ms\n`,
  );
  for (const t of video.tracks) {
    const runs = t.emotions.map((run) => `${run.label}×${run.faces}`).join(' ');
    process.stdout.write(
      `  track ${t.index}: ${t.firstSeen.toFixed(1)}-${t.lastSeen.toFixed(1)} s, ${t.frames} frame(s), ` +
        `best face at ${t.bestFace.at.toFixed(1)} s (quality ${t.bestFace.quality.toFixed(2)}), ${runs}` +
        `${t.glimpse ? ' (glimpse)' : ''}\n`,
    );
  }
}
