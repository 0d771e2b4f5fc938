import fs from 'node:fs';
import { describeError } from '../../../lib/errors';
import { sharedAnalyser } from '../../helpers/analyser';
import { expected, matches, robustnessFiles } from '../../helpers/robustnessExpectations';
import { dataFile } from '../../helpers/testConfig';

describe('every file of the robustness set', () => {
  it('ends with its expected faces or a clear error, and nothing crashes', async () => {
    const analyser = await sharedAnalyser();
    const files = robustnessFiles();
    expect(files).toHaveLength(Object.keys(expected).length);
    const mismatches: string[] = [];
    for (const file of files) {
      const want = expected[file];
      let got: number | string;
      try {
        got = (await analyser.analyze(fs.readFileSync(dataFile('robustness', file)), { crops: true })).faces.length;
      } catch (error) {
        const { code, message } = describeError(error);
        expect(message.length).toBeGreaterThan(15);
        expect(message).not.toMatch(/\n\s+at /);
        got = code;
      }
      if (!matches(want, got)) mismatches.push(`${file}: expected ${JSON.stringify(want)}, got ${got}`);
    }
    expect(mismatches).toEqual([]);
  });
});
