// The protobuf schema (proto/shoal.proto), loaded once with protobufjs reflection and
// configured for Shoal's conventions. Reflection rather than pbjs static code: in
// protobufjs 8 both run the same generated decoder and encoder bodies, and measured
// here they are equally fast (docs/protocol.md, "Codec"), so the .proto stays the
// only source and there is no generated file to keep in step.
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

// uint64 fields hold values below 2^53 (see the .proto): without Long, protobufjs
// decodes them as plain numbers. This is global to the protobufjs instance, which
// only this module configures.
protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

/** The shared empty default of every singular bytes field. */
const EMPTY = Buffer.alloc(0);

/** The loaded reflection root, for tools and modules that need the schema itself. */
export const schema: protobuf.Root = protobuf.loadSync(join(packageRoot(), 'proto', 'shoal.proto'));

/** The protobufjs type `shoal.<name>`; throws when the schema has no such message. */
export function messageType(name: string): protobuf.Type {
  return schema.lookupType('shoal.' + name);
}

// protobufjs puts field defaults on each message's prototype. For an absent singular
// bytes field that is a shared empty plain array; make it an empty Buffer so that
// every decoded bytes field is a Buffer.
for (const n of Object.values((schema.lookup('shoal') as protobuf.Namespace).nested ?? {})) {
  if (!(n instanceof protobuf.Type)) continue;
  const proto = n.ctor.prototype as Record<string, unknown>;
  for (const f of n.fieldsArray) {
    if (f.type === 'bytes' && !f.repeated) proto[f.name] = EMPTY;
  }
}
