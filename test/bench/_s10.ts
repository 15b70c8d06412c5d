import { benchStorage } from './storage.js';
await benchStorage({ quick: false, marks: [1_000_000, 3_000_000], storageAt: 3_000_000, batch: 100_000, subscribers: 32_000, publics: 256, warmQueries: 2000, coldQueries: 10, dropCaches: true, keep: '/tmp/keep3m' });
