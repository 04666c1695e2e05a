import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm run lint` enforces the layering of docs/design.md ("Where things live"): each case lints a
 * one-line module as if it sat at `path`, with the repository's own eslint.config.js.
 */
const root = fileURLToPath(new URL('../../../../', import.meta.url));

interface Probe {
  name: string;
  path: string;
  code: string;
}

const violations: (Probe & { rule: string; message: RegExp })[] = [
  {
    name: 'jobs/ importing http/',
    path: 'packages/server/src/jobs/probe.ts',
    code: "import { sendProblem } from '../http/problem.js';",
    rule: 'import-x/no-restricted-paths',
    message: /jobs\/ never imports http\//,
  },
  {
    name: 'http/ naming the file store',
    path: 'packages/server/src/http/probe.ts',
    code: "import { FileStore } from '../store/file/file-store.js';",
    rule: 'import-x/no-restricted-paths',
    message: /only store\/open-store\.ts names a concrete store/,
  },
  {
    name: 'jobs/ naming the PostgreSQL store',
    path: 'packages/server/src/jobs/probe.ts',
    code: "import { openPostgresStore } from '../store/postgres/postgres-store.js';",
    rule: 'import-x/no-restricted-paths',
    message: /only store\/open-store\.ts names a concrete store/,
  },
  {
    name: 'store/ importing jobs/',
    path: 'packages/server/src/store/probe.ts',
    code: "import { createJob } from '../jobs/create-job.js';",
    rule: 'import-x/no-restricted-paths',
    message: /store\/ knows nothing of http\/, jobs\/ or images\//,
  },
  {
    name: 'images/ importing the store',
    path: 'packages/server/src/images/probe.ts',
    code: "import type { JobStore } from '../store/job-store.js';",
    rule: 'import-x/no-restricted-paths',
    message: /images\/ knows nothing of http\/, jobs\/ or the store/,
  },
  {
    name: 'config/ importing the store',
    path: 'packages/server/src/config/probe.ts',
    code: "import type { JobStore } from '../store/job-store.js';",
    rule: 'import-x/no-restricted-paths',
    message: /config\/, clock, metrics and backoff import nothing else of the server/,
  },
  {
    name: "bench/ importing the server's sources",
    path: 'bench/lib/probe.js',
    code: "import { buildApp } from '../../packages/server/src/app.js';",
    rule: 'import-x/no-restricted-paths',
    message: /bench\/ measures the built server/,
  },
  {
    name: "the page's lib/ importing a feature",
    path: 'packages/web/src/lib/probe.ts',
    code: "import { NewJobButton } from '../features/jobs/components/new-job-button';",
    rule: 'import-x/no-restricted-paths',
    message: /lib\/ imports no feature/,
  },
  {
    name: 'a feature importing app/',
    path: 'packages/web/src/features/jobs/probe.ts',
    code: "import { Providers } from '../../app/providers';",
    rule: 'import-x/no-restricted-paths',
    message: /features\/ never import app\//,
  },
  {
    name: 'an import cycle (delay.ts ↔ create-job.ts)',
    path: 'packages/server/src/jobs/delay.ts',
    code: "import { createJob } from './create-job.js';",
    rule: 'import-x/no-cycle',
    message: /cycle/i,
  },
];

const allowed: Probe[] = [
  {
    name: 'http/ importing the store interface',
    path: 'packages/server/src/http/probe.ts',
    code: "import type { JobStore } from '../store/job-store.js';",
  },
  {
    name: 'jobs/ importing images/',
    path: 'packages/server/src/jobs/probe.ts',
    code: "import type { ImageSource } from '../images/image-source.js';",
  },
  {
    name: 'open-store.ts naming the file store',
    path: 'packages/server/src/store/open-store.ts',
    code: "import { FileStore } from './file/file-store.js';",
  },
  {
    name: 'a feature importing lib/',
    path: 'packages/web/src/features/jobs/probe.ts',
    code: "import { parseLinkHeader } from '../../lib/link-header';",
  },
];

describe('lint enforces the layering', () => {
  let eslint: ESLint;
  const boundaryErrors = async ({ path, code }: Probe) => {
    const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath: `${root}${path}` });
    return (result?.messages ?? []).filter(
      (m) => m.ruleId === 'import-x/no-restricted-paths' || m.ruleId === 'import-x/no-cycle' || m.fatal,
    );
  };

  beforeAll(() => {
    // The probes are not in any tsconfig, so type-aware rules are off for them; the layering rules need no types.
    eslint = new ESLint({ cwd: root, overrideConfig: [tseslint.configs.disableTypeChecked] });
  });

  it.each(violations)('fails on $name', async (probe) => {
    const errors = await boundaryErrors(probe);
    expect(errors).toEqual([expect.objectContaining({ ruleId: probe.rule, severity: 2, message: expect.stringMatching(probe.message) })]);
  });

  it.each(allowed)('allows $name', async (probe) => {
    expect(await boundaryErrors(probe)).toEqual([]);
  });
});
