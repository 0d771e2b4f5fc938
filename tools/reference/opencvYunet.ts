/**
 * The detector's acceptance reference: OpenCV's own cv::FaceDetectorYN (not a port of it) run on the WIDER subset,
 * plus the dlib and negative sets at the same settings. Usage: `npm run build && node dist/tools/reference/opencvYunet.js`
 * (options `--data <detection folder>`, `--model <onnx>`, `--out <json>`, `--run <name>`).
 *
 * Native OpenCV >= 4.8 is not installable here (Debian bookworm ships 4.6, no PyPI), so this runs OpenCV 4.13.0
 * compiled to WebAssembly by OpenCV's own opencv.js build (npm @opencvjs/node): the same objdetect/dnn C++ sources,
 * FaceDetectorYN included. It is installed on first use into a cache folder outside git
 * ($FACEPIPE_OPENCV_REFERENCE_DIR or ~/.cache/facepipe/opencv-reference), never into the project.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { parseToolArgs, pathOption, runTool } from '../common/args';
import { dataFile, modelMirror, reportsDir } from '../common/paths';
import { writeJsonFile } from '../common/report';
import { evaluateDlibBoxes } from '../eval/dlibBoxes';
import { evaluateNegatives } from '../eval/negatives';
import type { DetectFaces, ScoredBox } from '../eval/types';
import {
  evaluateWiderFace,
  loadWiderFaceAnnotations,
  WIDER_FACE_SETTINGS,
  type WiderFaceResult,
  type WiderFaceSetting,
} from '../eval/widerFace';

const OPENCV_JS_PACKAGE = '@opencvjs/node';
const OPENCV_JS_VERSION = '4.13.0-release.1';

interface DetectorSettings {
  name: string;
  why: string;
  scoreThreshold: number;
  nmsThreshold: number;
  topK: number;
  /** opencv_zoo's WIDER eval rounds boxes to 0.1 px and scores to 0.001 before scoring; kept for the same ties. */
  roundLikeOpencvZoo: boolean;
}

const RUNS: DetectorSettings[] = [
  {
    name: 'opencv_zoo_widerface_eval',
    why: 'opencv_zoo tools/eval/eval.py settings for yunet (face_detection_yunet_2023mar.onnx): the published AP protocol',
    scoreThreshold: 0.3,
    nmsThreshold: 0.45,
    topK: 5000,
    roundLikeOpencvZoo: true,
  },
  {
    name: 'facepipe_eval_settings',
    why: 'score 0.02 and NMS 0.3 as tools/eval/main.ts runs our detector for AP, so only the implementation differs',
    scoreThreshold: 0.02,
    nmsThreshold: 0.3,
    topK: 5000,
    roundLikeOpencvZoo: false,
  },
  {
    name: 'opencv_zoo_yunet_defaults',
    why: 'opencv_zoo models/face_detection_yunet/yunet.py constructor defaults (the demo operating point)',
    scoreThreshold: 0.6,
    nmsThreshold: 0.3,
    topK: 5000,
    roundLikeOpencvZoo: false,
  },
  {
    name: 'opencv_create_defaults',
    why: 'cv::FaceDetectorYN::create() parameter defaults',
    scoreThreshold: 0.9,
    nmsThreshold: 0.3,
    topK: 5000,
    roundLikeOpencvZoo: false,
  },
];

/** The few opencv.js calls used here; the package's own types are not a project dependency. */
interface Mat {
  rows: number;
  cols: number;
  data: Uint8Array;
  data32F: Float32Array;
  delete(): void;
}
interface FaceDetectorYN {
  setInputSize(size: unknown): void;
  detect(image: Mat, faces: Mat): number;
  delete(): void;
}
interface OpenCv {
  Mat: new (rows?: number, cols?: number, type?: number) => Mat;
  Size: new (width: number, height: number) => unknown;
  FaceDetectorYN: new (
    model: string,
    config: string,
    inputSize: unknown,
    scoreThreshold: number,
    nmsThreshold: number,
    topK: number,
    backendId: number,
    targetId: number,
  ) => FaceDetectorYN;
  CV_8UC3: number;
  COLOR_RGB2BGR: number;
  cvtColor(source: Mat, target: Mat, code: number): void;
  FS_createDataFile(parent: string, name: string, data: Uint8Array, canRead: boolean, canWrite: boolean): void;
  getBuildInformation(): string;
}

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return process.env.FACEPIPE_OPENCV_REFERENCE_DIR ?? path.join(base, 'facepipe', 'opencv-reference');
}

async function loadOpenCv(dir: string): Promise<OpenCv> {
  const installDir = path.join(dir, 'opencv-js');
  const manifest = path.join(installDir, 'node_modules', OPENCV_JS_PACKAGE, 'package.json');
  if (!existsSync(manifest)) {
    await mkdir(installDir, { recursive: true });
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        installDir,
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        `${OPENCV_JS_PACKAGE}@${OPENCV_JS_VERSION}`,
      ],
      { stdio: 'inherit' },
    );
  }
  const load = createRequire(manifest)(OPENCV_JS_PACKAGE) as { loadOpenCV: () => Promise<OpenCv> };
  return load.loadOpenCV();
}

/** cv.imread gives BGR; sharp (libvips/libjpeg-turbo) decodes here, since opencv.js has no imgcodecs. */
async function readBgr(cv: OpenCv, file: string): Promise<Mat> {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${file}: decoded to ${info.channels} channels, expected 3`);
  const rgb = new cv.Mat(info.height, info.width, cv.CV_8UC3);
  rgb.data.set(data);
  const bgr = new cv.Mat();
  cv.cvtColor(rgb, bgr, cv.COLOR_RGB2BGR);
  rgb.delete();
  return bgr;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function detectWith(cv: OpenCv, modelPath: string, settings: DetectorSettings) {
  const detector = new cv.FaceDetectorYN(
    modelPath,
    '',
    new cv.Size(320, 320),
    settings.scoreThreshold,
    settings.nmsThreshold,
    settings.topK,
    0,
    0,
  );
  return async (file: string): Promise<ScoredBox[]> => {
    const image = await readBgr(cv, file);
    const faces = new cv.Mat();
    try {
      // As opencv_zoo's eval does: the network runs on the image's own size, no resizing.
      detector.setInputSize(new cv.Size(image.cols, image.rows));
      detector.detect(image, faces);
      const boxes: ScoredBox[] = [];
      // Each row: x, y, w, h, 5 landmarks (x, y), score.
      for (let row = 0; row < faces.rows; row += 1) {
        const at = (column: number): number => faces.data32F[row * 15 + column] ?? Number.NaN;
        const box = { x: at(0), y: at(1), width: at(2), height: at(3), score: at(14) };
        boxes.push(
          settings.roundLikeOpencvZoo
            ? {
                x: round(box.x, 1),
                y: round(box.y, 1),
                width: round(box.width, 1),
                height: round(box.height, 1),
                score: round(box.score, 3),
              }
            : box,
        );
      }
      return boxes;
    } finally {
      image.delete();
      faces.delete();
    }
  };
}

function summarise(result: WiderFaceResult) {
  const settings = {} as Record<WiderFaceSetting, { ap: number; faces: number; found: number }>;
  for (const setting of WIDER_FACE_SETTINGS) {
    const { ap, faces, found } = result.settings[setting];
    settings[setting] = { ap: round(ap, 4), faces, found };
  }
  return { images: result.images, predictions: result.predictions, scoreRange: result.scoreRange, ...settings };
}

/** A long single-threaded run should show it is alive. */
function withProgress(detect: DetectFaces, label: string, total: number): DetectFaces {
  let done = 0;
  return async (file) => {
    const boxes = await detect(file);
    done += 1;
    if (done % 50 === 0 || done === total) console.error(`${label}: ${done}/${total}`);
    return boxes;
  };
}

const USAGE = `Usage: node dist/tools/reference/opencvYunet.js [options]
  --data DIR      the detection data folder (default <data>/detection)
  --model FILE    the YuNet ONNX model (default <model mirror>/yunet_s_640_640.onnx)
  --out FILE      the JSON report (default <repo>/reports/opencv-yunet-reference.json)
  --run NAME      only this run: ${RUNS.map((run) => run.name).join(', ')} (default all)`;

async function main(): Promise<void> {
  const { values } = parseToolArgs({
    usage: USAGE,
    options: {
      data: { type: 'string' },
      model: { type: 'string' },
      out: { type: 'string' },
      run: { type: 'string' },
    },
  });
  const detectionData = pathOption(values.data, dataFile('detection'));
  const wider = path.join(detectionData, 'wider_face_val_subset');
  const model = pathOption(values.model, path.join(modelMirror, 'yunet_s_640_640.onnx'));
  const out = pathOption(values.out, path.join(reportsDir, 'opencv-yunet-reference.json'));
  const work = cacheDir();
  const only = values.run;

  const cv = await loadOpenCv(work);
  const modelBytes = await readFile(model);
  // opencv.js reads files from its in-memory file system only.
  cv.FS_createDataFile('/', 'yunet.onnx', modelBytes, true, false);
  const openCvVersion = /General configuration for OpenCV (\S+)/.exec(cv.getBuildInformation())?.[1] ?? 'unknown';
  const imageCount = (await loadWiderFaceAnnotations(wider)).length;

  const runs = [];
  for (const settings of RUNS.filter((run) => only === undefined || run.name === only)) {
    const detect = detectWith(cv, '/yunet.onnx', settings);
    const started = Date.now();
    const { result, predictions } = await evaluateWiderFace(wider, withProgress(detect, settings.name, imageCount));
    const seconds = (Date.now() - started) / 1000;
    const predictionsFile = path.join(work, `predictions-${settings.name}.json`);
    await writeFile(predictionsFile, JSON.stringify(Object.fromEntries(predictions)));
    const dlib = await evaluateDlibBoxes(path.join(detectionData, 'dlib_examples_faces'), detect);
    const negatives = await evaluateNegatives(path.join(detectionData, 'negatives_no_faces'), detect);
    const summary = summarise(result);
    console.log(settings.name, JSON.stringify(summary), `${seconds.toFixed(0)} s`, predictionsFile);
    const { roundLikeOpencvZoo, ...detector } = settings;
    runs.push({
      ...detector,
      inputSize: 'each image its own width x height (setInputSize per image)',
      roundedLikeOpencvZoo: roundLikeOpencvZoo,
      widerSeconds: Math.round(seconds),
      wider: summary,
      dlib: {
        ...dlib,
        byIou: dlib.byIou.map(({ precision, recall, ...counts }) => ({
          ...counts,
          precision: round(precision, 4),
          recall: round(recall, 4),
        })),
        boxFit: {
          ...dlib.boxFit,
          medianSideRatio: round(dlib.boxFit.medianSideRatio, 3),
          medianCentreShiftY: round(dlib.boxFit.medianCentreShiftY, 3),
        },
      },
      negatives: {
        ...negatives,
        falsePositives: negatives.falsePositives.map((image) => ({ ...image, maxScore: round(image.maxScore, 3) })),
      },
    });
  }

  const report = {
    what: 'OpenCV cv::FaceDetectorYN itself on the detection sets; WIDER scored with the official protocol (lib/eval)',
    measured: new Date().toISOString().slice(0, 10),
    script: 'tools/reference/opencvYunet.ts',
    opencv: {
      version: openCvVersion,
      build: `OpenCV's opencv.js build (WebAssembly, single-threaded, no SIMD kernels), npm ${OPENCV_JS_PACKAGE}@${OPENCV_JS_VERSION}`,
      backend: 'DNN_BACKEND_OPENCV / DNN_TARGET_CPU (0, 0)',
    },
    model: {
      file: path.basename(model),
      sha256: createHash('sha256').update(modelBytes).digest('hex'),
      note: 'byte-identical to opencv_zoo face_detection_yunet_2023mar.onnx',
    },
    decoding: `sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}) to RGB, then cv.cvtColor to BGR; opencv_zoo uses cv.imread`,
    datasets: {
      wider: 'wider_face_val_subset: development subset of WIDER val (5 events), not comparable to published numbers',
      widerProtocol: 'IoU 0.5, 1000 thresholds, scores normalised over the whole set, VOC all-point AP',
      dlib: 'dlib_examples_faces training.xml + testing.xml; greedy matching by score; boxFit = detection vs label',
      negatives: 'negatives_no_faces: every detection is a false positive',
    },
    runs,
  };
  writeJsonFile(out, report);
  console.log(`wrote ${out}`);
}

runTool('opencvYunet', main);
