export { loadConfig, parseConfig, type Env } from './load.js';
export { normalizeConfig, type Config, type FarmConfig } from './normalize.js';
export { type FilterMatch, type RuleItem } from './schema.js';
