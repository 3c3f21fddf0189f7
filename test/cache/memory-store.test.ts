/**
 * The in-memory fake passes the store contract, so tests built on it (serve, fill, send) hold
 * for the file-system store too.
 */
import { MemoryStore } from '../fakes/memory-store.js';
import { cacheStoreContract } from './store-contract.js';

cacheStoreContract('MemoryStore (test fake)', async ({ now, observer }) => ({
  store: new MemoryStore({ now, observer }),
  close: async () => {},
}));
