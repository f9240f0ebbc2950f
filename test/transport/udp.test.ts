// One contract, two implementations: every DatagramTransport test runs against real
// UDP sockets on 127.0.0.1 and against the in-memory network.
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultFilter, MemoryNetwork, UdpTransport } from '../../src/transport/index.js';
import type { DatagramTransport } from '../../src/transport/index.js';

async function waitFor(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Maker {
  name: string;
  make(options?: { filter?: FaultFilter; maxDatagramBytes?: number }): DatagramTransport;
}

const network = new MemoryNetwork();
const makers: Maker[] = [
  { name: 'UdpTransport', make: (o = {}) => new UdpTransport({ host: '127.0.0.1', port: 0, ...o }) },
  { name: 'MemoryTransport', make: (o = {}) => network.transport('127.0.0.1', o) },
];

const open: DatagramTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.stop()));
});

async function started(maker: Maker, options?: { filter?: FaultFilter; maxDatagramBytes?: number }): Promise<DatagramTransport> {
  const t = maker.make(options);
  open.push(t);
  await t.start();
  return t;
}

for (const maker of makers) {
  describe(`${maker.name} (DatagramTransport contract)`, () => {
    it('delivers datagrams with the sender address and counts them', async () => {
      const a = await started(maker);
      const b = await started(maker);
      expect(a.port).toBeGreaterThan(0);
      const got: [string, string, number][] = [];
      b.onDatagram((data, host, port) => got.push([data.toString(), host, port]));
      for (let i = 0; i < 5; i++) a.send('127.0.0.1', b.port, Buffer.from(`hello ${i}`));
      await waitFor(() => got.length === 5);
      expect(got.map((g) => g[0]).sort()).toEqual(['hello 0', 'hello 1', 'hello 2', 'hello 3', 'hello 4']);
      expect(got[0]![1]).toBe('127.0.0.1');
      expect(got[0]![2]).toBe(a.port);
      expect(a.counters.datagramsOut).toBe(5);
      expect(b.counters.datagramsIn).toBe(5);
      expect(b.counters.bytesIn).toBe(a.counters.bytesOut);
    });

    it('refuses to send more than the limit, and drops bigger received datagrams unread', async () => {
      const a = await started(maker, { maxDatagramBytes: 2000 });
      const b = await started(maker, { maxDatagramBytes: 1000 });
      expect(() => a.send('127.0.0.1', b.port, Buffer.alloc(2001))).toThrow(RangeError);
      const got: number[] = [];
      b.onDatagram((d) => got.push(d.length));
      a.send('127.0.0.1', b.port, Buffer.alloc(1500));
      a.send('127.0.0.1', b.port, Buffer.alloc(1000));
      await waitFor(() => got.length === 1 && b.counters.oversize === 1);
      expect(got).toEqual([1000]);
    });

    it('a throwing handler is counted and the transport keeps working', async () => {
      const a = await started(maker);
      const b = await started(maker);
      let calls = 0;
      b.onDatagram(() => {
        calls++;
        throw new Error('boom');
      });
      a.send('127.0.0.1', b.port, Buffer.from('x'));
      a.send('127.0.0.1', b.port, Buffer.from('y'));
      await waitFor(() => calls === 2);
      expect(b.counters.handlerErrors).toBe(2);
    });

    it('the fault filter drops by probability, blocks peers both ways, and delays', async () => {
      let coin = 0;
      const filter = new FaultFilter(() => (coin++ % 2 === 0 ? 0 : 0.99)); // alternately below and above p
      const a = await started(maker, { filter });
      const b = await started(maker);
      const got: string[] = [];
      b.onDatagram((d) => got.push(d.toString()));
      filter.setLoss(0.5);
      for (let i = 0; i < 4; i++) a.send('127.0.0.1', b.port, Buffer.from(`${i}`));
      await waitFor(() => got.length === 2);
      expect(a.counters.filtered).toBe(2);
      filter.setLoss(0);
      // Blocked: nothing goes out to b, nothing from b is delivered.
      filter.block('127.0.0.1', b.port);
      a.send('127.0.0.1', b.port, Buffer.from('blocked'));
      const fromB: string[] = [];
      a.onDatagram((d) => fromB.push(d.toString()));
      b.send('127.0.0.1', a.port, Buffer.from('to a'));
      await waitFor(() => a.counters.filtered === 4);
      filter.unblock('127.0.0.1', b.port);
      b.send('127.0.0.1', a.port, Buffer.from('to a again'));
      await waitFor(() => fromB.length === 1);
      expect(fromB).toEqual(['to a again']);
      // Delay: a datagram sent with a delay arrives after one sent later without.
      filter.setDelay(100);
      a.send('127.0.0.1', b.port, Buffer.from('late'));
      filter.setDelay(0);
      a.send('127.0.0.1', b.port, Buffer.from('early'));
      await waitFor(() => got.length === 4);
      expect(got.slice(2)).toEqual(['early', 'late']);
      // A rule delays each peer by its own amount, and replaces the one delay.
      const c = await started(maker);
      const order: string[] = [];
      b.onDatagram((d) => order.push(`b:${d.toString()}`));
      c.onDatagram((d) => order.push(`c:${d.toString()}`));
      filter.setDelay(5_000);
      filter.setDelayRule((_host, port) => (port === b.port ? 100 : 0));
      expect([filter.delayFor('127.0.0.1', b.port), filter.delayFor('127.0.0.1', c.port)]).toEqual([100, 0]);
      a.send('127.0.0.1', b.port, Buffer.from('far'));
      a.send('127.0.0.1', c.port, Buffer.from('near'));
      await waitFor(() => order.length === 2);
      expect(order).toEqual(['c:near', 'b:far']);
      filter.clear();
      expect(filter.delayFor('127.0.0.1', b.port)).toBe(0);
      expect(() => filter.setLoss(2)).toThrow(RangeError);
      expect(() => filter.setDelay(-1)).toThrow(RangeError);
    });

    it('stop is idempotent, closes the port, and later sends are silently dropped', async () => {
      const a = await started(maker);
      const b = await started(maker);
      await a.stop();
      await a.stop();
      a.send('127.0.0.1', b.port, Buffer.from('x'));
      expect(a.counters.datagramsOut).toBe(0);
      await b.stop();
    });
  });
}

describe('UdpTransport', () => {
  it('survives garbage and bursts from a raw socket', async () => {
    const t = new UdpTransport();
    open.push(t);
    await t.start();
    let n = 0;
    t.onDatagram(() => n++);
    const raw = createSocket('udp4');
    try {
      await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
      for (let i = 0; i < 200; i++) raw.send(Buffer.alloc(i * 7, i), t.port, '127.0.0.1');
      raw.send(Buffer.alloc(9000), t.port, '127.0.0.1'); // over the default 1400 limit
      await waitFor(() => n + t.counters.oversize >= 201);
      expect(t.counters.oversize).toBe(1);
    } finally {
      raw.close();
    }
  });

  it('rejects a bad configuration with RangeError, and a port in use with the OS error', async () => {
    expect(() => new UdpTransport({ port: 70000 })).toThrow(RangeError);
    expect(() => new UdpTransport({ maxDatagramBytes: 10 })).toThrow(RangeError);
    const a = new UdpTransport();
    open.push(a);
    await a.start();
    const b = new UdpTransport({ port: a.port });
    await expect(b.start()).rejects.toThrow(/EADDRINUSE/);
    await b.stop();
  });
});
