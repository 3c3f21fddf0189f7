export { loadConfig, parseConfig, type Env } from './load.js';
export { normalizeConfig, deepFreeze, type Config, type FarmConfig } from './normalize.js';
export { configSchema, type RawConfig, type RawFarm, type FilterMatch, type RuleItem } from './schema.js';
