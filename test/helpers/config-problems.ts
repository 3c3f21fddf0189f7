/** Config test helpers: the smallest valid config, and the problems a broken one is refused with. */
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError, formatProblem } from '../../src/errors.js';

/** One farm, one render: the smallest config parseConfig accepts. */
export const MINIMAL_CONFIG = `farms:
  - name: site-a
    virtualhosts: ["site-a.local"]
    docroot: ./cache/site-a
    renders:
      - url: http://127.0.0.1:4503
`;

/** The problems (`FILE:LINE:COL path: message`) parseConfig refuses `text` with; fails if it accepts it. */
export function configProblems(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, 'f.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map(formatProblem);
  }
  assert.fail('expected a ConfigError');
}
