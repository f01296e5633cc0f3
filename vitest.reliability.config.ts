// npm run test:reliability: crashes, database outages and hostile input (see vitest.config.ts).
import { suiteConfig } from './vitest.config.js';

export default suiteConfig('reliability');
