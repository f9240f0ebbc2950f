// Merkle trees over the (keyHash, digest) entries of one partition. The format is in
// docs/architecture.md ("Merkle trees"): S leaves, each the wrapping sum of its
// entries' hashes; levels of ceil(size / F) nodes above, each node the XXH64 of its
// children as u64 LE; serialized as u32 LE S, u32 LE F, then every node, root first.
#ifndef SHOAL_NATIVE_MERKLE_H_
#define SHOAL_NATIVE_MERKLE_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace shoal {

// XXH64 (seed 0) of keyHash as u64 LE followed by digest as u64 LE: what one entry
// adds to its segment.
uint64_t MerkleEntryHash(uint64_t key_hash, uint64_t digest);

// True when segments is a power of two in 1..2^20 and fanout a power of two in 2..256.
bool MerkleShapeValid(uint64_t segments, uint64_t fanout);

// The hashes of one tree, independent of JavaScript (a worker thread may build one).
// Mutations touch one leaf in O(1) and mark it dirty; Root() and Serialize() rehash
// only the paths above dirty leaves. Storage is allocated on first use.
// Not thread-safe: one owner at a time.
class MerkleHashes {
 public:
  // REQUIRES: MerkleShapeValid(segments, fanout).
  MerkleHashes(uint32_t segments, uint32_t fanout);

  uint32_t segments() const { return segments_; }
  uint32_t fanout() const { return fanout_; }

  // Entry (key_hash, digest) joins / leaves segment key_hash & (segments - 1).
  // Removing an entry that was never added is not an error; it only skews the hashes.
  void Add(uint64_t key_hash, uint64_t digest);
  void Remove(uint64_t key_hash, uint64_t digest);
  void Update(uint64_t key_hash, uint64_t old_digest, uint64_t new_digest);

  // Adds n interleaved (keyHash, digest) pairs (2n words), then rehashes the whole tree.
  void AddAll(const uint64_t* pairs, size_t n);

  uint64_t Root();

  // 8 + 8 * (number of nodes).
  size_t SerializedSize() const;
  // Writes SerializedSize() bytes to out.
  void Serialize(uint8_t* out);

 private:
  void Allocate();
  void RehashAll();
  void RehashDirty();
  void Rehash(size_t level, size_t index);
  void Touch(uint32_t segment);

  uint32_t segments_;
  uint32_t fanout_;
  uint32_t fanout_bits_;
  std::vector<uint32_t> level_size_;    // level 0 is the leaves
  std::vector<size_t> level_offset_;    // index of a level's first node in nodes_
  std::vector<uint64_t> nodes_;         // serialization order: root level first
  std::vector<uint8_t> marked_;         // per node: queued for rehash
  std::vector<uint32_t> dirty_;         // marked leaves, then marked parents per level
  std::vector<uint32_t> scratch_;
  bool all_dirty_ = true;
};

// Leaf indices, ascending, where serialized trees a and b differ, found by descending
// from the root into children whose hashes differ. Returns false and sets *error when
// either input is malformed or the two differ in shape; *out is then unspecified.
bool MerkleDiff(const uint8_t* a, size_t a_size, const uint8_t* b, size_t b_size,
                std::vector<uint32_t>* out, std::string* error);

// Registers MerkleTree, merkleBuild, merkleDiff, merkleEntryHash, merkleApply on exports.
//   new MerkleTree(segments, fanout): RangeError unless MerkleShapeValid.
//   merkleBuild(entries, segments, fanout): copies entries before returning; builds on
//     the libuv pool; argument errors reject the promise (TypeError / RangeError).
//   merkleDiff(a, b): RangeError on malformed or differently shaped input.
//   merkleApply(trees, meta, words, count): applies `count` logged changes, entry i
//     being meta[i] = partition << 2 | kind (1 add, 2 remove, 3 update) and words
//     [3i, 3i+3) = keyHash, old digest, new digest, to trees[partition] (a MerkleTree,
//     or undefined/null: skipped). Checks every entry before changing any tree.
void InitMerkle(Napi::Env env, Napi::Object exports);

}  // namespace shoal

#endif  // SHOAL_NATIVE_MERKLE_H_
