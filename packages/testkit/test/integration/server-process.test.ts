import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../../src/server-process.js';
import { makeTempDir, removeTempDir } from '../../src/temp-dir.js';

const entry = fileURLToPath(new URL('../fixtures/stub-server.js', import.meta.url));

describe('server process', () => {
  let server: ServerProcess | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('starts on an ephemeral port with its own temp DATA_DIR and is ready', async () => {
    server = await startServerProcess({ entry });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    const body = (await (await fetch(`${server.url}/readyz`)).json()) as { dataDir: string };
    expect(body.dataDir).toBe(server.dataDir);
    expect(existsSync(server.dataDir)).toBe(true);
    expect(server.startup.readyMs).toBeGreaterThanOrEqual(server.startup.listeningMs);
    const opened = await server.waitForLog((e) => e.msg === 'store opened');
    expect(opened.recoveryMs).toBe(1.5);
  });

  it('does not pass this process environment on to the child', async () => {
    process.env.SIMMER_LEAK = 'secret';
    try {
      server = await startServerProcess({ entry });
    } finally {
      delete process.env.SIMMER_LEAK;
    }
    expect((await server.waitForLog((e) => e.msg === 'store opened')).leaked).toBeNull();
  });

  it('removes its temp DATA_DIR on stop and leaves a given one in place', async () => {
    server = await startServerProcess({ entry });
    const owned = server.dataDir;
    await server.stop();
    expect(existsSync(owned)).toBe(false);

    const given = await makeTempDir('simmer-given-');
    try {
      server = await startServerProcess({ entry, dataDir: given });
      await server.stop();
      expect(existsSync(given)).toBe(true);
    } finally {
      await removeTempDir(given);
    }
  });

  it('reports a SIGKILL as the exit signal', async () => {
    server = await startServerProcess({ entry });
    server.kill('SIGKILL');
    expect(await server.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('restarts after a crash on the same port and DATA_DIR', async () => {
    server = await startServerProcess({ entry });
    const { port, dataDir, pid } = server;
    server.kill('SIGKILL');
    await server.waitForExit();
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.dataDir).toBe(dataDir);
    expect(server.pid).not.toBe(pid);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('stops gracefully with SIGTERM', async () => {
    server = await startServerProcess({ entry });
    await server.stop();
    expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
    expect(server.logs.some((line) => line.includes('shutting down'))).toBe(true);
  });

  it('fails with the captured logs when the process exits before listening', async () => {
    await expect(startServerProcess({ entry, env: { STUB_FAIL: '1' } })).rejects.toThrow(/exited.*\n.*STUB_FAIL is set/s);
  });

  it('fails with the captured logs when the listening line does not come in time', async () => {
    await expect(startServerProcess({ entry, env: { STUB_SILENT: '1' }, startTimeoutMs: 300 })).rejects.toThrow(
      /did not log its "listening" line within 300 ms/,
    );
  });
});
