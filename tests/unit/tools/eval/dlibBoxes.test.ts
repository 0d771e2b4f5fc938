import type { Box } from '../../../../lib/vision/types';
import {
  boxIou,
  loadDlibImageDataset,
  matchDetections,
  measureBoxFit,
  parseDlibImageDataset,
  precisionRecall,
} from '../../../../tools/eval/dlibBoxes';
import type { ScoredBox } from '../../../../tools/eval/types';
import { detectionData } from '../../../helpers/evalData';

const xml = `<?xml version='1.0' encoding='ISO-8859-1'?>
<dataset><images>
  <image file='one.jpg' width='500' height='332'>
    <box top='10' left='20' width='40' height='40'/>
    <box top='100' left='200' width='30' height='30' ignore='1'/>
    <box top='10' left='300' width='40' height='41'>
      <part name='00' x='310' y='20'/>
    </box>
  </image>
  <image file='none.jpg'/>
</images></dataset>`;

const face = (x: number, y: number, size = 40): Box => ({ x, y, width: size, height: size });
const detection = (box: Box, score: number, dx = 0): ScoredBox => ({ ...box, x: box.x + dx, score });

describe('dlib imglab XML', () => {
  it('reads top/left/width/height boxes and keeps ignore boxes apart', () => {
    const [one, none] = parseDlibImageDataset(xml);
    expect(one).toEqual({
      file: 'one.jpg',
      faces: [
        { x: 20, y: 10, width: 40, height: 40 },
        { x: 300, y: 10, width: 40, height: 41 },
      ],
      ignored: [{ x: 200, y: 100, width: 30, height: 30 }],
    });
    expect(none).toEqual({ file: 'none.jpg', faces: [], ignored: [] });
  });

  it('refuses a file with no images or a box without a number', () => {
    expect(() => parseDlibImageDataset('<dataset/>')).toThrow(/no <image>/);
    expect(() =>
      parseDlibImageDataset("<image file='a.jpg'><box top='x' left='1' width='1' height='1'/></image>"),
    ).toThrow(/top/);
  });

  it('reads the example sets: 4 training images with 18 faces, 5 testing images with 25', async () => {
    const training = await loadDlibImageDataset(detectionData('dlib_examples_faces', 'training.xml'));
    const testing = await loadDlibImageDataset(detectionData('dlib_examples_faces', 'testing.xml'));
    expect([training.length, training.flatMap((image) => image.faces).length]).toEqual([4, 18]);
    expect([testing.length, testing.flatMap((image) => image.faces).length]).toEqual([5, 25]);
  });
});

describe('greedy matching by score', () => {
  const a = face(0, 0);
  const b = face(100, 0);
  const ignored = face(200, 0);

  it('finds every face of perfect detections', () => {
    const match = matchDetections({ faces: [a, b], ignored: [] }, [detection(a, 0.9), detection(b, 0.8)], 0.5);
    expect(precisionRecall(match, 0.5)).toMatchObject({ truePositives: 2, falsePositives: 0, precision: 1, recall: 1 });
  });

  it('counts a duplicate and a stray box as false positives and an unfound face as missed', () => {
    const detections = [detection(a, 0.9), detection(a, 0.8, 4), detection(face(0, 300), 0.7)];
    const match = matchDetections({ faces: [a, b], ignored: [] }, detections, 0.5);
    expect(match).toMatchObject({ truePositives: 1, falsePositives: 2, missed: 1 });
    expect(precisionRecall(match, 0.5)).toMatchObject({ precision: 1 / 3, recall: 1 / 2 });
  });

  it('gives the face to the best-scored detection', () => {
    const match = matchDetections({ faces: [a], ignored: [] }, [detection(a, 0.2, 10), detection(a, 0.9, 1)], 0.3);
    expect(match.pairs).toEqual([{ face: a, detection: detection(a, 0.9, 1) }]);
  });

  it('counts detections on ignored boxes neither way', () => {
    const match = matchDetections(
      { faces: [a], ignored: [ignored] },
      [detection(ignored, 0.9), detection(a, 0.5)],
      0.5,
    );
    expect(match).toMatchObject({ truePositives: 1, falsePositives: 0, missed: 0, ignoredHits: 1 });
  });

  it('accepts a looser box at IoU 0.4 that fails 0.5', () => {
    const loose = { x: -7, y: -7, width: 54, height: 54, score: 1 }; // IoU 1600 / 2916 = 0.55
    const looser = { x: -10, y: -10, width: 60, height: 60, score: 1 }; // IoU 1600 / 3600 = 0.44
    expect(boxIou(a, loose)).toBeCloseTo(1600 / 2916);
    expect(matchDetections({ faces: [a], ignored: [] }, [looser], 0.5).truePositives).toBe(0);
    expect(matchDetections({ faces: [a], ignored: [] }, [looser], 0.4).truePositives).toBe(1);
  });

  it('measures how detections sit on their labels', () => {
    const fit = measureBoxFit([{ face: a, detection: { x: -5, y: 0, width: 50, height: 50 } }]);
    expect(fit).toEqual({ pairs: 1, medianSideRatio: 1.25, medianCentreShiftY: 5 / 40 });
  });
});
