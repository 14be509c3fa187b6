/** Every test runs on the Node host, as the CLI and the package's Node entry do (src/platform/node.ts). */
import { setPlatform } from '../../src/platform/index.js';
import { NODE_PLATFORM } from '../../src/platform/node.js';

setPlatform(NODE_PLATFORM);
