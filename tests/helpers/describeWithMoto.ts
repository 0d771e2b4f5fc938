import { motoAvailable } from '../../tools/moto/motoServer';

/**
 * `describe` for a suite that needs moto_server, or, where it is not installed, a skipped suite announced loudly (the
 * AWS wiring is then NOT tested).
 */
export function describeWithMoto(suite: string): jest.Describe {
  if (motoAvailable()) return describe;
  console.warn(
    `\n*** SKIPPED ${suite}: moto_server is not installed (pip install 'moto[server]'), so the AWS wiring is NOT tested here. ***\n`,
  );
  return describe.skip;
}
