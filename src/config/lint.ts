/**
 * Warnings about a valid config: settings that load but do not do what they say. Pure; printed
 * by `farmgate check` as `FILE:LINE:COL path: warning: message` (exit 0).
 */
import type { ConfigProblem } from '../errors.js';
import { isSetByFarmgate } from '../header-names.js';
import type { Config } from './normalize.js';

export function configWarnings(config: Config): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const file = config.file ?? 'config';
  const at = (keyPath: string) => {
    // The item itself, else the nearest key the file wrote.
    for (let p = keyPath; p !== ''; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
      const pos = config.positions[p];
      if (pos) return pos;
    }
    return { line: 1, col: 1 };
  };
  config.farms.forEach((farm, i) => {
    farm.cache.headers.forEach((name, j) => {
      if (!isSetByFarmgate(name)) return;
      const path = `farms.${i}.cache.headers.${j}`;
      out.push({
        file,
        ...at(path),
        path,
        message: `warning: ${name} is set by farmgate itself on every response, so it is never stored or replayed from the .h file; remove it from cache.headers`,
      });
    });
  });
  return out;
}
