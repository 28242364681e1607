import net from 'node:net';

/** Ports this process already handed out: the kernel may offer a released one again at once. */
const handedOut = new Set<number>();

/** freePort asks the kernel for an unused TCP port on 127.0.0.1, never the same one twice in a process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await askKernel();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function askKernel(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * waitForPorts resolves once every port accepts connections. It gives up when
 * `gaveUp()` reports a reason (say, the daemon exited) or after `timeoutMs`.
 */
export async function waitForPorts(
  ports: number[],
  { timeoutMs = 10_000, gaveUp = (): string | undefined => undefined } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await canConnect(port))) {
      const reason = gaveUp();
      if (reason) throw new Error(reason);
      if (Date.now() > deadline) throw new Error(`port ${port} did not answer within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
