// Encode + decode of representative messages with the codec in use (protobufjs
// reflection). For the comparison with pbjs static code (docs/protocol.md, "Codec"),
// generate a static module outside the repository (pbjs from protobufjs-cli, installed
// in a scratch folder, e.g. `npm i protobufjs-cli` in /tmp/pbcli) and point
// SHOAL_CODEC_STATIC at it:
//   pbjs -t static-module -w esm --force-number --no-verify --no-convert --no-delimited \
//     --no-typeurl --no-service --dependency $PWD/node_modules/protobufjs/minimal.js \
//     -o /tmp/shoal.static.mjs proto/shoal.proto
//   SHOAL_CODEC_STATIC=/tmp/shoal.static.mjs npm run bench -- codec
// Each run measures one implementation only: in one process the two share
// protobufjs's Reader and Writer, and whichever runs second finds their call sites
// already shaped by the first, which skews the comparison.
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { EnvelopeCodec, GossipPacketCodec, MemberStatus, peekEnvelope, RingStatus, SiblingSetCodec } from '../src/codec/index.js';
import type { Envelope, GossipPacket, Member, MessageCodec, Sibling, SiblingSet } from '../src/codec/index.js';
import { printBench } from './table.js';

interface StaticType {
  encode(m: unknown): { finish(): Uint8Array };
  decode(b: Uint8Array): unknown;
}

function sibling(): Sibling {
  return { dot: randomBytes(16), value: randomBytes(200), tombstone: false, expiresAt: 0, writtenAt: Date.now() };
}

function siblingSet(n: number): SiblingSet {
  return { clock: randomBytes(40), siblings: Array.from({ length: n }, sibling) };
}

function member(i: number): Member {
  return {
    id: `node-${i}`,
    host: `10.0.0.${i}`,
    port: 7000 + i,
    dc: 'dc1',
    rack: `r${i % 3}`,
    capacity: 1,
    incarnation: 5 + i,
    status: MemberStatus.ALIVE,
    ringStatus: RingStatus.ACTIVE,
    httpPort: 8000,
    protocol: 1,
    statusAt: Date.now(),
  };
}

export async function run(): Promise<void> {
  const clientPut: Envelope = {
    id: 12345,
    clientPut: { key: randomBytes(24), value: randomBytes(200), context: randomBytes(40), ttlMs: 0, w: 2, forwarded: false },
  };
  const write1: Envelope = { id: 77, replicaWrite: { key: randomBytes(24), set: siblingSet(1), hintFor: '' } };
  const write3: Envelope = { id: 78, replicaWrite: { key: randomBytes(24), set: siblingSet(3), hintFor: 'node-9' } };
  const gossip: GossipPacket = {
    from: 'node-1',
    ping: { seq: 99, target: 'node-2' },
    updates: Array.from({ length: 6 }, (_, i) => ({
      id: `node-${i}`,
      incarnation: 3,
      status: (i % 3) as MemberStatus,
      from: 'node-1',
      member: i < 2 ? member(i) : null,
    })),
    viewChecksum: randomBytes(8),
  };
  const set3 = SiblingSetCodec.encode(siblingSet(3));
  const putBytes = EnvelopeCodec.encode(clientPut);

  const staticPath = process.env['SHOAL_CODEC_STATIC'];
  let envelope: Pick<MessageCodec<Envelope>, 'encode' | 'decode'> = EnvelopeCodec;
  let packet: Pick<MessageCodec<GossipPacket>, 'encode' | 'decode'> = GossipPacketCodec;
  let sets: Pick<MessageCodec<SiblingSet>, 'decode'> = SiblingSetCodec;
  let label = 'reflection';
  if (staticPath !== undefined && staticPath !== '') {
    // Imported after src/codec configured protobufjs (uint64 as numbers).
    const mod = (await import(pathToFileURL(staticPath).href)) as { shoal: Record<string, StaticType> };
    const wrap = <T>(t: StaticType) => ({ encode: (m: T) => t.encode(m).finish(), decode: (b: Uint8Array) => t.decode(b) as T });
    envelope = wrap<Envelope>(mod.shoal['Envelope']!);
    packet = wrap<GossipPacket>(mod.shoal['GossipPacket']!);
    sets = wrap<SiblingSet>(mod.shoal['SiblingSet']!);
    label = 'static';
    for (const [name, a, b] of [
      ['Envelope', EnvelopeCodec.encode(write3), envelope.encode(write3)],
      ['GossipPacket', GossipPacketCodec.encode(gossip), packet.encode(gossip)],
    ] as const) {
      if (!Buffer.from(a).equals(Buffer.from(b))) throw new Error(`static ${name} encodes differently from reflection`);
    }
  }

  const size = (b: Uint8Array) => `${b.length} B`;
  console.log(`codec: ${label}; message sizes: clientPut ${size(putBytes)}, replicaWrite(1) ${size(EnvelopeCodec.encode(write1))}, ` +
    `replicaWrite(3) ${size(EnvelopeCodec.encode(write3))}, gossip ${size(GossipPacketCodec.encode(gossip))}, SiblingSet(3) ${size(set3)}`);

  let sink = 0;
  const bench = new Bench({ time: 600, warmupTime: 200 });
  bench
    .add(`${label}: Envelope clientPut (200 B value, 40 B context) encode+decode`, () => {
      sink += envelope.decode(envelope.encode(clientPut)).id;
    })
    .add(`${label}: Envelope replicaWrite, 1 sibling, encode+decode`, () => {
      sink += envelope.decode(envelope.encode(write1)).id;
    })
    .add(`${label}: Envelope replicaWrite, 3 siblings, encode+decode`, () => {
      sink += envelope.decode(envelope.encode(write3)).id;
    })
    .add(`${label}: GossipPacket ping + 6 updates encode+decode`, () => {
      sink += packet.decode(packet.encode(gossip)).updates.length;
    })
    .add(`${label}: SiblingSet (3 siblings) decode`, () => {
      sink += sets.decode(set3).siblings.length;
    })
    .add('peekEnvelope clientPut', () => {
      sink += peekEnvelope(putBytes).field;
    });
  await bench.run();
  printBench(bench, 1, 'msgs');
  if (sink === -1) console.log(sink); // keeps the results alive
}
