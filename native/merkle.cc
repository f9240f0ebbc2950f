#include "merkle.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <utility>

#include "args.h"
#include "xxhash.h"

namespace shoal {

namespace {

constexpr uint64_t kMaxSegments = uint64_t{1} << 20;
constexpr uint64_t kMaxFanout = 256;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr bool kLittleEndian = false;
#else
constexpr bool kLittleEndian = true;
#endif

inline uint64_t ToLittleEndian(uint64_t x) {
  if constexpr (kLittleEndian) return x;
  return __builtin_bswap64(x);
}

// XXH64 of n words laid out as u64 LE; n <= kMaxFanout.
inline uint64_t HashWords(const uint64_t* words, size_t n) {
  if constexpr (kLittleEndian) return XXH64(words, n * sizeof(uint64_t), 0);
  uint64_t le[kMaxFanout];
  for (size_t i = 0; i < n; i++) le[i] = ToLittleEndian(words[i]);
  return XXH64(le, n * sizeof(uint64_t), 0);
}

inline uint32_t ReadU32LE(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

inline void WriteU32LE(uint8_t* p, uint32_t x) {
  p[0] = static_cast<uint8_t>(x);
  p[1] = static_cast<uint8_t>(x >> 8);
  p[2] = static_cast<uint8_t>(x >> 16);
  p[3] = static_cast<uint8_t>(x >> 24);
}

// Level sizes bottom-up: segments, then ceil(size / fanout) until one node.
void LevelSizes(uint32_t segments, uint32_t fanout, std::vector<uint32_t>* sizes) {
  sizes->clear();
  uint32_t n = segments;
  sizes->push_back(n);
  while (n > 1) {
    n = (n + fanout - 1) / fanout;
    sizes->push_back(n);
  }
}

}  // namespace

uint64_t MerkleEntryHash(uint64_t key_hash, uint64_t digest) {
  const uint64_t words[2] = {ToLittleEndian(key_hash), ToLittleEndian(digest)};
  return XXH64(words, sizeof(words), 0);
}

bool MerkleShapeValid(uint64_t segments, uint64_t fanout) {
  return segments >= 1 && segments <= kMaxSegments && (segments & (segments - 1)) == 0 &&
         fanout >= 2 && fanout <= kMaxFanout && (fanout & (fanout - 1)) == 0;
}

// ---- MerkleHashes

MerkleHashes::MerkleHashes(uint32_t segments, uint32_t fanout)
    : segments_(segments), fanout_(fanout), fanout_bits_(__builtin_ctz(fanout)) {
  LevelSizes(segments, fanout, &level_size_);
  // Serialization order puts the top level first, so offsets grow downward.
  level_offset_.resize(level_size_.size());
  size_t offset = 0;
  for (size_t k = level_size_.size(); k-- > 0;) {
    level_offset_[k] = offset;
    offset += level_size_[k];
  }
}

void MerkleHashes::Allocate() {
  size_t total = level_offset_[0] + segments_;
  nodes_.assign(total, 0);
  marked_.assign(total, 0);
  all_dirty_ = true;
}

void MerkleHashes::Touch(uint32_t segment) {
  if (all_dirty_) return;
  size_t at = level_offset_[0] + segment;
  if (!marked_[at]) {
    marked_[at] = 1;
    dirty_.push_back(segment);
  }
}

void MerkleHashes::Add(uint64_t key_hash, uint64_t digest) {
  if (nodes_.empty()) Allocate();
  uint32_t s = static_cast<uint32_t>(key_hash & (segments_ - 1));
  nodes_[level_offset_[0] + s] += MerkleEntryHash(key_hash, digest);
  Touch(s);
}

void MerkleHashes::Remove(uint64_t key_hash, uint64_t digest) {
  if (nodes_.empty()) Allocate();
  uint32_t s = static_cast<uint32_t>(key_hash & (segments_ - 1));
  nodes_[level_offset_[0] + s] -= MerkleEntryHash(key_hash, digest);
  Touch(s);
}

void MerkleHashes::Update(uint64_t key_hash, uint64_t old_digest, uint64_t new_digest) {
  if (nodes_.empty()) Allocate();
  uint32_t s = static_cast<uint32_t>(key_hash & (segments_ - 1));
  nodes_[level_offset_[0] + s] += MerkleEntryHash(key_hash, new_digest) - MerkleEntryHash(key_hash, old_digest);
  Touch(s);
}

void MerkleHashes::AddAll(const uint64_t* pairs, size_t n) {
  if (nodes_.empty()) Allocate();
  uint64_t* leaves = nodes_.data() + level_offset_[0];
  const uint64_t mask = segments_ - 1;
  for (size_t i = 0; i < n; i++) {
    uint64_t key_hash = pairs[2 * i];
    leaves[key_hash & mask] += MerkleEntryHash(key_hash, pairs[2 * i + 1]);
  }
  all_dirty_ = true;
  RehashDirty();
}

void MerkleHashes::Rehash(size_t level, size_t index) {
  size_t first = index << fanout_bits_;
  size_t count = std::min<size_t>(fanout_, level_size_[level - 1] - first);
  nodes_[level_offset_[level] + index] = HashWords(nodes_.data() + level_offset_[level - 1] + first, count);
}

void MerkleHashes::RehashAll() {
  for (uint32_t s : dirty_) marked_[level_offset_[0] + s] = 0;
  dirty_.clear();
  for (size_t k = 1; k < level_size_.size(); k++) {
    for (size_t j = 0; j < level_size_[k]; j++) Rehash(k, j);
  }
  all_dirty_ = false;
}

void MerkleHashes::RehashDirty() {
  if (all_dirty_) return RehashAll();
  if (dirty_.empty()) return;
  // Past about one dirty leaf per fanout children, walking paths costs more than a sweep.
  if (dirty_.size() * fanout_ >= segments_) return RehashAll();
  std::vector<uint32_t>* cur = &dirty_;
  std::vector<uint32_t>* next = &scratch_;
  const size_t top = level_size_.size() - 1;
  for (size_t k = 0; k < top; k++) {
    next->clear();
    uint8_t* here = marked_.data() + level_offset_[k];
    uint8_t* up = marked_.data() + level_offset_[k + 1];
    for (uint32_t i : *cur) {
      here[i] = 0;
      uint32_t parent = i >> fanout_bits_;
      if (!up[parent]) {
        up[parent] = 1;
        next->push_back(parent);
      }
    }
    // Every child at level k is final now, so each marked parent is hashed once.
    for (uint32_t parent : *next) Rehash(k + 1, parent);
    std::swap(cur, next);
  }
  for (uint32_t i : *cur) marked_[level_offset_[top] + i] = 0;
  dirty_.clear();
  scratch_.clear();
}

uint64_t MerkleHashes::Root() {
  if (nodes_.empty()) Allocate();
  RehashDirty();
  return nodes_[0];
}

size_t MerkleHashes::SerializedSize() const {
  return 8 + 8 * (level_offset_[0] + size_t{segments_});
}

void MerkleHashes::Serialize(uint8_t* out) {
  Root();
  WriteU32LE(out, segments_);
  WriteU32LE(out + 4, fanout_);
  if constexpr (kLittleEndian) {
    std::memcpy(out + 8, nodes_.data(), nodes_.size() * sizeof(uint64_t));
  } else {
    for (size_t i = 0; i < nodes_.size(); i++) {
      uint64_t le = ToLittleEndian(nodes_[i]);
      std::memcpy(out + 8 + 8 * i, &le, sizeof(le));
    }
  }
}

// ---- MerkleDiff

namespace {

struct SerializedTree {
  const uint8_t* nodes;  // first node, root level first
  std::vector<uint32_t> level_size;    // bottom-up
  std::vector<size_t> level_offset;    // in nodes, bottom-up as level_size
};

bool ParseTree(const uint8_t* p, size_t n, const char* name, SerializedTree* tree, std::string* error) {
  if (n < 8) {
    *error = std::string(name) + " is shorter than the 8-byte Merkle tree header";
    return false;
  }
  uint32_t segments = ReadU32LE(p);
  uint32_t fanout = ReadU32LE(p + 4);
  if (!MerkleShapeValid(segments, fanout)) {
    *error = std::string(name) + " has an invalid shape (segments " + std::to_string(segments) + ", fanout " +
             std::to_string(fanout) + ")";
    return false;
  }
  LevelSizes(segments, fanout, &tree->level_size);
  tree->level_offset.resize(tree->level_size.size());
  size_t offset = 0;
  for (size_t k = tree->level_size.size(); k-- > 0;) {
    tree->level_offset[k] = offset;
    offset += tree->level_size[k];
  }
  if (n != 8 + 8 * offset) {
    *error = std::string(name) + " has " + std::to_string(n) + " bytes; its shape needs " +
             std::to_string(8 + 8 * offset);
    return false;
  }
  tree->nodes = p + 8;
  return true;
}

}  // namespace

bool MerkleDiff(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size, std::vector<uint32_t>* out,
                std::string* error) {
  SerializedTree ta, tb;
  if (!ParseTree(a, a_size, "a", &ta, error) || !ParseTree(b, b_size, "b", &tb, error)) return false;
  if (std::memcmp(a, b, 8) != 0) {
    *error = "a and b are Merkle trees of different shapes";
    return false;
  }
  const uint32_t fanout = ReadU32LE(a + 4);
  const size_t top = ta.level_size.size() - 1;
  auto differs = [&](size_t level, size_t index) {
    size_t at = 8 * (ta.level_offset[level] + index);
    return std::memcmp(ta.nodes + at, tb.nodes + at, 8) != 0;
  };
  out->clear();
  if (!differs(top, 0)) return true;
  std::vector<uint32_t> frontier{0};
  for (size_t k = top; k > 0; k--) {
    out->clear();
    for (uint32_t j : frontier) {
      size_t first = size_t{j} * fanout;
      size_t end = std::min<size_t>(first + fanout, ta.level_size[k - 1]);
      for (size_t c = first; c < end; c++) {
        if (differs(k - 1, c)) out->push_back(static_cast<uint32_t>(c));
      }
    }
    frontier.swap(*out);
  }
  out->swap(frontier);
  return true;
}

// ---- JavaScript face

namespace {

// Per-environment state, freed when the environment is torn down.
struct MerkleState {
  Napi::FunctionReference tree_constructor;
};

MerkleHashes ShapeArgs(const Napi::CallbackInfo& info, size_t i) {
  uint64_t segments = ArgUint(info, i, "segments");
  uint64_t fanout = ArgUint(info, i + 1, "fanout");
  if (segments == 0 || segments > kMaxSegments || (segments & (segments - 1)) != 0) {
    throw Napi::RangeError::New(info.Env(), "segments must be a power of two from 1 to 2^20");
  }
  if (!MerkleShapeValid(segments, fanout)) {
    throw Napi::RangeError::New(info.Env(), "fanout must be a power of two from 2 to 256");
  }
  return MerkleHashes(static_cast<uint32_t>(segments), static_cast<uint32_t>(fanout));
}

class MerkleTree : public Napi::ObjectWrap<MerkleTree> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "MerkleTree",
                       {
                           InstanceAccessor<&MerkleTree::Segments>("segments"),
                           InstanceAccessor<&MerkleTree::Fanout>("fanout"),
                           InstanceMethod<&MerkleTree::Add>("add"),
                           InstanceMethod<&MerkleTree::Remove>("remove"),
                           InstanceMethod<&MerkleTree::Update>("update"),
                           InstanceMethod<&MerkleTree::Root>("root"),
                           InstanceMethod<&MerkleTree::Serialize>("serialize"),
                       });
  }

  explicit MerkleTree(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MerkleTree>(info), tree_(ShapeArgs(info, 0)) {}

  // Takes a tree built elsewhere (of the same shape).
  void Adopt(MerkleHashes&& tree) { tree_ = std::move(tree); }

  MerkleHashes* hashes() { return &tree_; }

 private:
  Napi::Value Segments(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), tree_.segments()); }
  Napi::Value Fanout(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), tree_.fanout()); }

  void Add(const Napi::CallbackInfo& info) {
    uint64_t key_hash = ArgBigUint64(info, 0, "keyHash");
    uint64_t digest = ArgBigUint64(info, 1, "digest");
    tree_.Add(key_hash, digest);
  }

  void Remove(const Napi::CallbackInfo& info) {
    uint64_t key_hash = ArgBigUint64(info, 0, "keyHash");
    uint64_t digest = ArgBigUint64(info, 1, "digest");
    tree_.Remove(key_hash, digest);
  }

  void Update(const Napi::CallbackInfo& info) {
    uint64_t key_hash = ArgBigUint64(info, 0, "keyHash");
    uint64_t old_digest = ArgBigUint64(info, 1, "oldDigest");
    uint64_t new_digest = ArgBigUint64(info, 2, "newDigest");
    tree_.Update(key_hash, old_digest, new_digest);
  }

  Napi::Value Root(const Napi::CallbackInfo& info) { return Napi::BigInt::New(info.Env(), tree_.Root()); }

  Napi::Value Serialize(const Napi::CallbackInfo& info) {
    auto out = Napi::Buffer<uint8_t>::New(info.Env(), tree_.SerializedSize());
    tree_.Serialize(out.Data());
    return out;
  }

  MerkleHashes tree_;
};

// The baton of merkleBuild: plain C++ data only; Execute() never sees a JavaScript value.
class BuildWorker : public Napi::AsyncWorker {
 public:
  BuildWorker(Napi::Env env, Napi::Promise::Deferred deferred, MerkleState* state, std::vector<uint64_t> pairs,
              MerkleHashes tree)
      : Napi::AsyncWorker(env, "shoal.merkleBuild"),
        deferred_(deferred),
        state_(state),
        pairs_(std::move(pairs)),
        tree_(std::move(tree)) {}

 protected:
  void Execute() override {
    tree_.AddAll(pairs_.data(), pairs_.size() / 2);
    std::vector<uint64_t>().swap(pairs_);  // free the copy here, not on the main thread
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      Napi::Object object = state_->tree_constructor.New(
          {Napi::Number::New(env, tree_.segments()), Napi::Number::New(env, tree_.fanout())});
      MerkleTree::Unwrap(object)->Adopt(std::move(tree_));
      deferred_.Resolve(object);
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  MerkleState* state_;
  std::vector<uint64_t> pairs_;
  MerkleHashes tree_;
};

// merkleBuild(entries: BigUint64Array, segments: number, fanout: number): Promise<MerkleTree>
Napi::Value MerkleBuild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  try {
    auto entries = ArgTypedArray(info, 0, "entries", napi_biguint64_array).As<Napi::BigUint64Array>();
    MerkleHashes tree = ShapeArgs(info, 1);
    size_t n = entries.ElementLength();
    if (n % 2 != 0) {
      throw Napi::RangeError::New(env, "entries must hold (keyHash, digest) pairs: its length must be even");
    }
    std::vector<uint64_t> pairs(entries.Data(), entries.Data() + n);
    auto* state = static_cast<MerkleState*>(info.Data());
    (new BuildWorker(env, deferred, state, std::move(pairs), std::move(tree)))->Queue();
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());
  } catch (const std::exception& e) {
    deferred.Reject(Napi::Error::New(env, e.what()).Value());
  }
  return deferred.Promise();
}

// merkleDiff(a: Uint8Array, b: Uint8Array): Uint32Array
Napi::Value MerkleDiffValue(const Napi::CallbackInfo& info) {
  Bytes a = ArgBytes(info, 0, "a");
  Bytes b = ArgBytes(info, 1, "b");
  std::vector<uint32_t> leaves;
  std::string error;
  if (!MerkleDiff(a.data, a.size, b.data, b.size, &leaves, &error)) {
    throw Napi::RangeError::New(info.Env(), error);
  }
  auto out = Napi::Uint32Array::New(info.Env(), leaves.size());
  if (!leaves.empty()) std::memcpy(out.Data(), leaves.data(), leaves.size() * sizeof(uint32_t));
  return out;
}

// merkleEntryHash(keyHash: bigint, digest: bigint): bigint
Napi::Value MerkleEntryHashValue(const Napi::CallbackInfo& info) {
  uint64_t key_hash = ArgBigUint64(info, 0, "keyHash");
  uint64_t digest = ArgBigUint64(info, 1, "digest");
  return Napi::BigInt::New(info.Env(), MerkleEntryHash(key_hash, digest));
}

// merkleApply(trees: (MerkleTree | undefined)[], meta: Uint32Array, words: BigUint64Array, count: number)
// One call for a whole log of changes: a call per change cost more than the change.
Napi::Value MerkleApply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* state = static_cast<MerkleState*>(info.Data());
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "trees must be an array");
  Napi::Array trees = info[0].As<Napi::Array>();
  TypedView meta = ArgTypedView(info, 1, "meta", napi_uint32_array);
  TypedView words = ArgTypedView(info, 2, "words", napi_biguint64_array);
  uint64_t count = ArgUint(info, 3, "count");
  if (count > meta.length || count > words.length / 3) {
    throw Napi::RangeError::New(env, "count exceeds the entries that meta and words hold");
  }
  const auto* m = static_cast<const uint32_t*>(meta.data);
  const auto* w = static_cast<const uint64_t*>(words.data);
  const uint32_t n = trees.Length();
  // First every check, so that a bad entry changes nothing.
  std::vector<MerkleHashes*> target(n, nullptr);
  std::vector<uint8_t> seen(n, 0);
  Napi::Function ctor = state->tree_constructor.Value();
  for (uint64_t i = 0; i < count; i++) {
    uint32_t kind = m[i] & 3;
    uint32_t p = m[i] >> 2;
    if (kind == 0) throw Napi::RangeError::New(env, "meta[" + std::to_string(i) + "] has no kind");
    if (p >= n) throw Napi::RangeError::New(env, "meta[" + std::to_string(i) + "] names partition " + std::to_string(p) + " beyond trees");
    if (seen[p]) continue;
    seen[p] = 1;
    Napi::Value v = trees.Get(p);
    if (v.IsUndefined() || v.IsNull()) continue;
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(ctor)) {
      throw Napi::TypeError::New(env, "trees[" + std::to_string(p) + "] must be a MerkleTree or undefined");
    }
    target[p] = MerkleTree::Unwrap(v.As<Napi::Object>())->hashes();
  }
  for (uint64_t i = 0; i < count; i++) {
    MerkleHashes* t = target[m[i] >> 2];
    if (t == nullptr) continue;
    const uint64_t* e = w + 3 * i;
    switch (m[i] & 3) {
      case 1: t->Add(e[0], e[2]); break;
      case 2: t->Remove(e[0], e[1]); break;
      default: t->Update(e[0], e[1], e[2]); break;
    }
  }
  return env.Undefined();
}

}  // namespace

void InitMerkle(Napi::Env env, Napi::Object exports) {
  auto* state = new MerkleState();
  env.AddCleanupHook([state]() { delete state; });
  Napi::Function tree = MerkleTree::Define(env);
  state->tree_constructor = Napi::Persistent(tree);
  exports.Set("MerkleTree", tree);
  exports.Set("merkleBuild", Napi::Function::New(env, MerkleBuild, "merkleBuild", state));
  exports.Set("merkleDiff", Napi::Function::New(env, MerkleDiffValue, "merkleDiff"));
  exports.Set("merkleEntryHash", Napi::Function::New(env, MerkleEntryHashValue, "merkleEntryHash"));
  exports.Set("merkleApply", Napi::Function::New<Checked<MerkleApply>>(env, "merkleApply", state));
}

}  // namespace shoal
