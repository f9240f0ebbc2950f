#include "vclock.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "args.h"

namespace shoal {

namespace {

constexpr uint8_t kVvFormat = 1;
constexpr uint32_t kVvMaxEntries = 1024;
constexpr uint64_t kMaxCounter = (uint64_t{1} << 53) - 1;
constexpr size_t kDotBytes = 16;

constexpr size_t kMaxVarintBytes = 8;
// Format byte plus the count varint (at most 2 bytes for counts up to 2^14).
constexpr size_t kHeaderRoom = 3;
// Actor plus the longest counter varint.
constexpr size_t kMaxEntryBytes = 8 + kMaxVarintBytes;

inline uint64_t LoadLE64(const uint8_t* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  x = __builtin_bswap64(x);
#endif
  return x;
}

inline void StoreLE64(uint8_t* p, uint64_t x) {
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  x = __builtin_bswap64(x);
#endif
  std::memcpy(p, &x, 8);
}

constexpr char kTruncated[] = "version vector truncated";
constexpr char kNonMinimal[] = "non-minimal varint in version vector";
constexpr char kTooLong[] = "varint longer than 8 bytes in version vector";

// Reads a minimal unsigned LEB128 varint of at most 8 bytes at *p, advancing *p.
// Returns nullptr, or what is wrong. Decodes all 8 candidate bytes at once: a
// counter (milliseconds * 1000) takes 7 or 8 bytes.
inline const char* ReadVarint(const uint8_t** p, const uint8_t* end, uint64_t* out) {
  const uint8_t* q = *p;
  size_t avail = static_cast<size_t>(end - q);
  if (avail == 0) return kTruncated;
  if (q[0] < 0x80) {
    *p = q + 1;
    *out = q[0];
    return nullptr;
  }
  uint64_t x;
  if (avail >= kMaxVarintBytes) {
    x = LoadLE64(q);
  } else {
    // Zero padding past the end reads as a terminator beyond avail: truncated.
    uint8_t tmp[kMaxVarintBytes] = {0};
    std::memcpy(tmp, q, avail);
    x = LoadLE64(tmp);
  }
  uint64_t stops = ~x & 0x8080808080808080ull;  // bytes without a continuation bit
  if (stops == 0) return kTooLong;
  unsigned last = static_cast<unsigned>(__builtin_ctzll(stops)) - 7;  // bit offset of the final byte
  size_t len = last / 8 + 1;
  if (len > avail) return kTruncated;
  if (((x >> last) & 0x7f) == 0) return kNonMinimal;
  // Keep the 7 payload bits of bytes 0..len-1, then pack them together.
  x &= (last == 56 ? ~uint64_t{0} : (uint64_t{1} << (last + 8)) - 1) & 0x7f7f7f7f7f7f7f7full;
  x = ((x & 0x7f007f007f007f00ull) >> 1) | (x & 0x007f007f007f007full);
  x = ((x & 0x3fff00003fff0000ull) >> 2) | (x & 0x00003fff00003fffull);
  x = ((x & 0x0fffffff00000000ull) >> 4) | (x & 0x000000000fffffffull);
  *p = q + len;
  *out = x;
  return nullptr;
}

inline uint8_t* PutVarint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

// Reads an encoded vector entry by entry, validating as it goes. Does not copy
// or own the bytes, which must outlive the reader.
//
//   VvReader r(data, size);
//   while (r.Next()) use(r.actor(), r.counter());
//   if (r.error() != nullptr) ... malformed ...
//
// Next() returns false at the end and on the first malformation; the caller
// must check error() afterwards. A vector is valid only when Next() was called
// until it returned false and error() is nullptr (trailing bytes are found
// with the last entry).
class VvReader {
 public:
  VvReader(const uint8_t* data, size_t size);

  bool Next();
  uint64_t actor() const { return actor_; }
  uint64_t counter() const { return counter_; }
  // Number of entries announced by the header (0 for a malformed header).
  uint32_t count() const { return count_; }
  // nullptr, or a static description of the first malformation.
  const char* error() const { return error_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  uint32_t count_ = 0;
  uint32_t left_ = 0;
  uint64_t actor_ = 0;
  uint64_t counter_ = 0;
  const char* error_ = nullptr;
};

inline VvReader::VvReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {
  if (size == 0) return;  // the empty vector
  if (*p_ != kVvFormat) {
    error_ = "unknown version vector format";
    return;
  }
  p_++;
  uint64_t n;
  if ((error_ = ReadVarint(&p_, end_, &n)) != nullptr) return;
  if (n > kVvMaxEntries) {
    error_ = "version vector has more than 1024 entries";
    return;
  }
  if (n == 0 && p_ != end_) {
    error_ = "trailing bytes after version vector";
    return;
  }
  count_ = left_ = static_cast<uint32_t>(n);
}

inline bool VvReader::Next() {
  if (left_ == 0 || error_ != nullptr) return false;
  if (end_ - p_ < 8) {
    error_ = kTruncated;
    return false;
  }
  uint64_t actor = LoadLE64(p_);
  p_ += 8;
  uint64_t counter;
  if ((error_ = ReadVarint(&p_, end_, &counter)) != nullptr) return false;
  if (counter == 0) {
    error_ = "zero counter in version vector";
    return false;
  }
  if (counter > kMaxCounter) {
    error_ = "counter of 2^53 or more in version vector";
    return false;
  }
  if (left_ != count_ && actor <= actor_) {
    error_ = "version vector actors are not strictly ascending";
    return false;
  }
  actor_ = actor;
  counter_ = counter;
  if (--left_ == 0 && p_ != end_) {
    error_ = "trailing bytes after version vector";
    return false;
  }
  return true;
}

// Storage for n items of a trivial type: inline up to N (no allocation), heap
// beyond. Contents start uninitialized.
template <typename T, size_t N>
class Scratch {
 public:
  explicit Scratch(size_t n) : heap_(n > N ? new T[n] : nullptr), data_(heap_ ? heap_.get() : inline_) {}
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* data() { return data_; }
  T& operator[](size_t i) { return data_[i]; }

 private:
  std::unique_ptr<T[]> heap_;
  T* data_;
  T inline_[N];
};

struct Entry {
  uint64_t actor;
  uint64_t counter;
};

// Vectors up to this many entries are decoded without allocating.
constexpr size_t kInlineEntries = 32;
using Entries = Scratch<Entry, kInlineEntries>;
// Encoded results up to this many bytes are built without allocating.
using OutBytes = Scratch<uint8_t, kHeaderRoom + kInlineEntries * kMaxEntryBytes>;

// Writes a canonical encoding into a buffer of cap bytes: entries first (after
// room for the header), then the header just before them.
class VvWriter {
 public:
  VvWriter(uint8_t* buf, size_t cap) : buf_(buf), p_(buf + kHeaderRoom), end_(buf + cap) {}

  // Appends an entry; actors must come strictly ascending. Callers size the
  // buffer so that it never runs out; if it did, the entry is dropped and
  // overflowed() says so.
  void Add(uint64_t actor, uint64_t counter) {
    if (static_cast<size_t>(end_ - p_) < kMaxEntryBytes) {
      overflowed_ = true;
      return;
    }
    StoreLE64(p_, actor);
    p_ = PutVarint(p_ + 8, counter);
    n_++;
  }

  uint32_t count() const { return n_; }
  bool overflowed() const { return overflowed_; }

  // Writes the header; [*data, *data + *size) is then the encoding. Requires
  // count() <= kVvMaxEntries.
  void Finish(const uint8_t** data, size_t* size) {
    uint8_t header[kHeaderRoom];
    header[0] = kVvFormat;
    size_t h = PutVarint(header + 1, n_) - header;
    uint8_t* start = buf_ + kHeaderRoom - h;
    std::memcpy(start, header, h);
    *data = start;
    *size = p_ - start;
  }

 private:
  uint8_t* buf_;
  uint8_t* p_;
  uint8_t* end_;
  uint32_t n_ = 0;
  bool overflowed_ = false;
};

[[noreturn]] void ThrowMalformed(Napi::Env env, const char* name, const char* what) {
  throw Napi::RangeError::New(env, std::string(name) + ": " + what);
}

inline void Check(Napi::Env env, const VvReader& r, const char* name) {
  if (r.error() != nullptr) ThrowMalformed(env, name, r.error());
}

// Decodes a whole vector into out (room for r.count() entries); returns the count.
uint32_t DecodeAll(Napi::Env env, VvReader* r, Entry* out, const char* name) {
  uint32_t n = 0;
  while (r->Next()) out[n++] = Entry{r->actor(), r->counter()};
  Check(env, *r, name);
  return n;
}

// The counter of actor in a sorted entry list, or 0.
inline uint64_t Lookup(const Entry* e, uint32_t n, uint64_t actor) {
  const Entry* it = std::lower_bound(e, e + n, actor, [](const Entry& x, uint64_t a) { return x.actor < a; });
  return it != e + n && it->actor == actor ? it->counter : 0;
}

struct Dot {
  uint64_t actor;
  uint64_t counter;
  bool operator<(const Dot& o) const { return actor < o.actor || (actor == o.actor && counter < o.counter); }
  bool operator==(const Dot& o) const { return actor == o.actor && counter == o.counter; }
};

// Checks a dots argument: whole 16-byte dots, counters in 1..2^53-1. Returns the count.
size_t CheckDots(Napi::Env env, Bytes dots, const char* name) {
  if (dots.size % kDotBytes != 0) ThrowMalformed(env, name, "length is not a multiple of 16");
  size_t n = dots.size / kDotBytes;
  for (size_t i = 0; i < n; i++) {
    uint64_t c = LoadLE64(dots.data + i * kDotBytes + 8);
    if (c == 0 || c > kMaxCounter) ThrowMalformed(env, name, "dot counter must be from 1 to 2^53-1");
  }
  return n;
}

inline Dot DotAt(Bytes dots, size_t i) {
  return Dot{LoadLE64(dots.data + i * kDotBytes), LoadLE64(dots.data + i * kDotBytes + 8)};
}

// Answers "does `set` hold this dot?" for many dots: a scan for small sets,
// binary search over a sorted copy for large ones (bounded work for any input).
class DotSet {
 public:
  DotSet(Bytes dots, size_t n, size_t queries) : dots_(dots), n_(n) {
    if (n_ * queries > 1024) {
      sorted_.reset(new Dot[n_]);
      for (size_t i = 0; i < n_; i++) sorted_[i] = DotAt(dots_, i);
      std::sort(sorted_.get(), sorted_.get() + n_);
    }
  }

  bool Has(const Dot& d) const {
    if (sorted_) return std::binary_search(sorted_.get(), sorted_.get() + n_, d);
    for (size_t i = 0; i < n_; i++) {
      if (DotAt(dots_, i) == d) return true;
    }
    return false;
  }

 private:
  Bytes dots_;
  size_t n_;
  std::unique_ptr<Dot[]> sorted_;
};

// Results are carved from a per-environment ArrayBuffer slab, as Node carves
// Buffer.allocUnsafe() from its pool: a fresh ArrayBuffer per result costs ten
// times the rest of a call. Regions are never reused, so results never alias;
// a small result keeps its slab alive, as pooled Buffers do. A slab that was
// detached (its ArrayBuffer transferred) is never written again.
class ResultSlab {
 public:
  explicit ResultSlab(Napi::Env env) {
    Napi::Value buffer = env.Global().Get("Buffer");
    if (buffer.IsObject()) {
      Napi::Value from = buffer.As<Napi::Object>().Get("from");
      if (from.IsFunction()) {
        buffer_ = Napi::Persistent(buffer.As<Napi::Object>());
        buffer_from_ = Napi::Persistent(from.As<Napi::Function>());
      }
    }
  }

  // A new Buffer holding a copy of [data, data + size).
  Napi::Value NewBuffer(Napi::Env env, const uint8_t* data, size_t size) {
    if (size > kLargest || buffer_from_.IsEmpty()) return Napi::Buffer<uint8_t>::Copy(env, data, size);
    napi_value args[3];
    size_t offset;
    uint8_t* p = Reserve(env, size, &args[0], &offset);
    if (size > 0) std::memcpy(p, data, size);
    // Buffer.from(arrayBuffer, byteOffset, length): a Buffer viewing the region.
    // Plain Node-API calls here: this is most of the cost of a merge.
    napi_value buffer, from, result;
    NAPI_THROW_IF_FAILED(env, napi_create_uint32(env, static_cast<uint32_t>(offset), &args[1]), Napi::Value());
    NAPI_THROW_IF_FAILED(env, napi_create_uint32(env, static_cast<uint32_t>(size), &args[2]), Napi::Value());
    NAPI_THROW_IF_FAILED(env, napi_get_reference_value(env, buffer_, &buffer), Napi::Value());
    NAPI_THROW_IF_FAILED(env, napi_get_reference_value(env, buffer_from_, &from), Napi::Value());
    NAPI_THROW_IF_FAILED(env, napi_call_function(env, buffer, from, 3, args, &result), Napi::Value());
    return Napi::Value(env, result);
  }

  // A new zero-filled Uint8Array of size bytes; *out points at its contents
  // until the next call into JavaScript.
  Napi::Value NewBytes(Napi::Env env, size_t size, uint8_t** out) {
    if (size > kLargest) {
      Napi::Uint8Array a = Napi::Uint8Array::New(env, size);
      *out = a.Data();
      return a;
    }
    napi_value ab;
    size_t offset;
    *out = Reserve(env, size, &ab, &offset);
    napi_value result;
    NAPI_THROW_IF_FAILED(env, napi_create_typedarray(env, napi_uint8_array, size, ab, offset, &result),
                         Napi::Value());
    return Napi::Value(env, result);
  }

 private:
  static constexpr size_t kSlabBytes = 8192;
  static constexpr size_t kLargest = kSlabBytes / 2;  // larger results get their own memory

  // Reserves size (<= kLargest) zeroed bytes: *ab is their ArrayBuffer, *offset
  // their position in it.
  uint8_t* Reserve(Napi::Env env, size_t size, napi_value* ab, size_t* offset) {
    void* data = nullptr;
    size_t length = 0;
    if (!slab_.IsEmpty()) {
      *ab = slab_.Value();
      NAPI_THROW_IF_FAILED(env, napi_get_arraybuffer_info(env, *ab, &data, &length), nullptr);
    }
    if (length != kSlabBytes || kSlabBytes - used_ < size) {  // none yet, detached, or full
      Napi::ArrayBuffer fresh = Napi::ArrayBuffer::New(env, kSlabBytes);
      slab_.Reset(fresh, 1);
      used_ = 0;
      *ab = fresh;
      data = fresh.Data();
    }
    *offset = used_;
    used_ += (size + 7) & ~size_t{7};  // keep regions 8-byte aligned
    return static_cast<uint8_t*>(data) + *offset;
  }

  Napi::Reference<Napi::ArrayBuffer> slab_;
  size_t used_ = 0;
  Napi::ObjectReference buffer_;
  Napi::FunctionReference buffer_from_;
};

inline ResultSlab* Slab(const Napi::CallbackInfo& info) { return static_cast<ResultSlab*>(info.Data()); }

// Encodes a writer's result as a new Buffer, unless it does not fit the format.
Napi::Value Result(const Napi::CallbackInfo& info, VvWriter* w) {
  Napi::Env env = info.Env();
  if (w->overflowed()) throw Napi::Error::New(env, "shoal: version vector buffer too small (a bug)");
  if (w->count() > kVvMaxEntries) throw Napi::RangeError::New(env, "result would exceed 1024 entries");
  const uint8_t* data;
  size_t size;
  w->Finish(&data, &size);
  return Slab(info)->NewBuffer(env, data, size);
}

// vvCompare(a, b): -1 before, 0 equal, 1 after, 2 concurrent.
Napi::Value VvCompare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes a = ArgBytes(info, 0, "a");
  Bytes b = ArgBytes(info, 1, "b");
  VvReader ra(a.data, a.size);
  VvReader rb(b.data, b.size);
  bool a_more = false;  // some actor has a larger counter in a
  bool b_more = false;
  bool ha = ra.Next();
  bool hb = rb.Next();
  while (ha && hb) {
    if (ra.actor() < rb.actor()) {
      a_more = true;
      ha = ra.Next();
    } else if (rb.actor() < ra.actor()) {
      b_more = true;
      hb = rb.Next();
    } else {
      a_more |= ra.counter() > rb.counter();
      b_more |= rb.counter() > ra.counter();
      ha = ra.Next();
      hb = rb.Next();
    }
  }
  if (ha) a_more = true;
  while (ha) ha = ra.Next();
  if (hb) b_more = true;
  while (hb) hb = rb.Next();
  Check(env, ra, "a");
  Check(env, rb, "b");
  int32_t order = a_more ? (b_more ? 2 : 1) : (b_more ? -1 : 0);
  napi_value result;
  NAPI_THROW_IF_FAILED(env, napi_create_int32(env, order, &result), Napi::Value());
  return Napi::Value(env, result);
}

// vvMerge(a, b): pointwise maximum.
Napi::Value VvMerge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes a = ArgBytes(info, 0, "a");
  Bytes b = ArgBytes(info, 1, "b");
  VvReader ra(a.data, a.size);
  VvReader rb(b.data, b.size);
  // Every entry written is one read from a or b, and encodes to the same bytes.
  size_t cap = kHeaderRoom + std::min(a.size, size_t{kVvMaxEntries} * kMaxEntryBytes) +
               std::min(b.size, size_t{kVvMaxEntries} * kMaxEntryBytes) + kMaxEntryBytes;
  OutBytes out(cap);
  VvWriter w(out.data(), cap);
  bool ha = ra.Next();
  bool hb = rb.Next();
  while (ha && hb) {
    if (ra.actor() < rb.actor()) {
      w.Add(ra.actor(), ra.counter());
      ha = ra.Next();
    } else if (rb.actor() < ra.actor()) {
      w.Add(rb.actor(), rb.counter());
      hb = rb.Next();
    } else {
      w.Add(ra.actor(), std::max(ra.counter(), rb.counter()));
      ha = ra.Next();
      hb = rb.Next();
    }
  }
  for (; ha; ha = ra.Next()) w.Add(ra.actor(), ra.counter());
  for (; hb; hb = rb.Next()) w.Add(rb.actor(), rb.counter());
  Check(env, ra, "a");
  Check(env, rb, "b");
  return Result(info, &w);
}

// vvEvent(vv, actor, counter): vv[actor] = max(vv[actor], counter).
Napi::Value VvEvent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes vv = ArgBytes(info, 0, "vv");
  uint64_t actor = ArgBigUint64(info, 1, "actor");
  uint64_t counter = ArgPositive(info, 2, "counter");
  VvReader r(vv.data, vv.size);
  size_t cap = kHeaderRoom + std::min(vv.size, size_t{kVvMaxEntries} * kMaxEntryBytes) + 2 * kMaxEntryBytes;
  OutBytes out(cap);
  VvWriter w(out.data(), cap);
  bool placed = false;
  while (r.Next()) {
    if (!placed && r.actor() >= actor) {
      if (r.actor() == actor) {
        w.Add(actor, std::max(r.counter(), counter));
        placed = true;
        continue;
      }
      w.Add(actor, counter);
      placed = true;
    }
    w.Add(r.actor(), r.counter());
  }
  Check(env, r, "vv");
  if (!placed) w.Add(actor, counter);
  return Result(info, &w);
}

// vvGet(vv, actor): vv[actor] or 0.
Napi::Value VvGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes vv = ArgBytes(info, 0, "vv");
  uint64_t actor = ArgBigUint64(info, 1, "actor");
  VvReader r(vv.data, vv.size);
  uint64_t found = 0;
  while (r.Next()) {
    if (r.actor() == actor) found = r.counter();
  }
  Check(env, r, "vv");
  return Napi::Number::New(env, static_cast<double>(found));
}

// vvPrune(vv, maxEntries): keeps the maxEntries newest entries.
Napi::Value VvPrune(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes vv = ArgBytes(info, 0, "vv");
  uint64_t max = ArgPositive(info, 1, "maxEntries");
  VvReader r(vv.data, vv.size);
  Entries entries(r.count());
  uint32_t n = DecodeAll(env, &r, entries.data(), "vv");
  size_t cap = kHeaderRoom + size_t{n} * kMaxEntryBytes;
  OutBytes out(cap);
  VvWriter w(out.data(), cap);
  if (n <= max) {
    for (uint32_t i = 0; i < n; i++) w.Add(entries[i].actor, entries[i].counter);
  } else {
    // Age order: counter, then actor. The n - max oldest go; keep age >= the
    // (n - max)-th smallest age. Ages are distinct because actors are.
    auto older = [](const Entry& x, const Entry& y) {
      return x.counter < y.counter || (x.counter == y.counter && x.actor < y.actor);
    };
    Entries ages(n);
    std::copy(entries.data(), entries.data() + n, ages.data());
    size_t drop = n - static_cast<size_t>(max);
    std::nth_element(ages.data(), ages.data() + drop, ages.data() + n, older);
    Entry cut = ages[drop];
    for (uint32_t i = 0; i < n; i++) {
      if (!older(entries[i], cut)) w.Add(entries[i].actor, entries[i].counter);
    }
  }
  return Result(info, &w);
}

// vvValidate(vv): the number of entries.
Napi::Value VvValidate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes vv = ArgBytes(info, 0, "vv");
  VvReader r(vv.data, vv.size);
  while (r.Next()) {
  }
  Check(env, r, "vv");
  return Napi::Number::New(env, r.count());
}

// dotsCoveredBy(vv, dots): out[i] = vv covers dot i.
Napi::Value DotsCoveredBy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes vv = ArgBytes(info, 0, "vv");
  Bytes dots = ArgBytes(info, 1, "dots");
  VvReader r(vv.data, vv.size);
  Entries clock(r.count());
  uint32_t n = DecodeAll(env, &r, clock.data(), "vv");
  size_t nd = CheckDots(env, dots, "dots");
  uint8_t* flags;
  Napi::Value result = Slab(info)->NewBytes(env, nd, &flags);
  for (size_t i = 0; i < nd; i++) {
    Dot d = DotAt(dots, i);
    flags[i] = Lookup(clock.data(), n, d.actor) >= d.counter;
  }
  return result;
}

// dotSync(clockA, dotsA, clockB, dotsB): surviving dots of each side.
Napi::Value DotSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes clock_a = ArgBytes(info, 0, "clockA");
  Bytes dots_a = ArgBytes(info, 1, "dotsA");
  Bytes clock_b = ArgBytes(info, 2, "clockB");
  Bytes dots_b = ArgBytes(info, 3, "dotsB");
  VvReader ra(clock_a.data, clock_a.size);
  Entries ca(ra.count());
  uint32_t nca = DecodeAll(env, &ra, ca.data(), "clockA");
  size_t na = CheckDots(env, dots_a, "dotsA");
  VvReader rb(clock_b.data, clock_b.size);
  Entries cb(rb.count());
  uint32_t ncb = DecodeAll(env, &rb, cb.data(), "clockB");
  size_t nb = CheckDots(env, dots_b, "dotsB");
  DotSet set_a(dots_a, na, nb);
  DotSet set_b(dots_b, nb, na);
  uint8_t* flags;
  Napi::Value result = Slab(info)->NewBytes(env, na + nb, &flags);
  for (size_t i = 0; i < na; i++) {
    Dot d = DotAt(dots_a, i);
    flags[i] = Lookup(cb.data(), ncb, d.actor) < d.counter || set_b.Has(d);
  }
  for (size_t j = 0; j < nb; j++) {
    Dot d = DotAt(dots_b, j);
    flags[na + j] = Lookup(ca.data(), nca, d.actor) < d.counter && !set_a.Has(d);
  }
  return result;
}

}  // namespace

void InitClock(Napi::Env env, Napi::Object exports) {
  auto* slab = new ResultSlab(env);
  env.AddCleanupHook([slab]() { delete slab; });
  exports.Set("vvCompare", Napi::Function::New<Checked<VvCompare>>(env, "vvCompare"));
  exports.Set("vvMerge", Napi::Function::New<Checked<VvMerge>>(env, "vvMerge", slab));
  exports.Set("vvEvent", Napi::Function::New<Checked<VvEvent>>(env, "vvEvent", slab));
  exports.Set("vvGet", Napi::Function::New<Checked<VvGet>>(env, "vvGet"));
  exports.Set("vvPrune", Napi::Function::New<Checked<VvPrune>>(env, "vvPrune", slab));
  exports.Set("vvValidate", Napi::Function::New<Checked<VvValidate>>(env, "vvValidate"));
  exports.Set("dotsCoveredBy", Napi::Function::New<Checked<DotsCoveredBy>>(env, "dotsCoveredBy", slab));
  exports.Set("dotSync", Napi::Function::New<Checked<DotSync>>(env, "dotSync", slab));
}

}  // namespace shoal
