// libFuzzer custom mutator for fuzz_trace. Besides libFuzzer's own byte mutations it makes the
// inputs that ran the reader away before: zlib bombs (a run of a section repeated thousands of
// times and recompressed, so a few bytes inflate to megabytes; whole callsites repeated with
// distinct hashes, so that the trace stays valid) and sizes or counts set far beyond the bytes.
// Most outputs keep a consistent file_size, so that mutations get past the header. Test-only
// code: plain std containers; a mutation that does not apply falls back to libFuzzer's.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include "libleak/trace_format.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using Bytes = std::vector<uint8_t>;
namespace trace = libleak::trace;

// What a mutation may make a section inflate to: a 64 KiB input at the reader's ratio limit.
constexpr size_t kMaxInflated = 2 << 20;

struct Section {
  uint32_t type;
  uint32_t flags;
  Bytes stored;  // as in the file (a zlib section: uint64 size, then the stream)
};

struct File {
  trace::FileHeader header;
  std::vector<Section> sections;
};

std::optional<File> split(const uint8_t* data, size_t size) {
  File f;
  if (size < sizeof f.header) return std::nullopt;
  std::memcpy(&f.header, data, sizeof f.header);
  size_t at = sizeof f.header;
  for (uint32_t i = 0; i < f.header.section_count && i < 64; ++i) {
    trace::SectionHeader sh;
    if (size - at < sizeof sh) return std::nullopt;
    std::memcpy(&sh, data + at, sizeof sh);
    at += sizeof sh;
    if (sh.size > size - at) return std::nullopt;
    f.sections.push_back({sh.type, sh.flags, Bytes(data + at, data + at + sh.size)});
    at += std::min<size_t>((sh.size + 7) & ~size_t{7}, size - at);
  }
  return f.sections.empty() ? std::nullopt : std::optional<File>(f);
}

Bytes join(File& f) {
  Bytes out(sizeof f.header);
  for (const auto& s : f.sections) {
    trace::SectionHeader sh{s.type, s.flags, s.stored.size()};
    auto* p = reinterpret_cast<const uint8_t*>(&sh);
    out.insert(out.end(), p, p + sizeof sh);
    out.insert(out.end(), s.stored.begin(), s.stored.end());
    out.resize((out.size() + 7) & ~size_t{7});
  }
  f.header.section_count = static_cast<uint32_t>(f.sections.size());
  f.header.file_size = out.size();
  std::memcpy(out.data(), &f.header, sizeof f.header);
  return out;
}

// The payload a section stands for: inflated when compressed (up to kMaxInflated).
std::optional<Bytes> payload_of(const Section& s) {
  if (!(s.flags & trace::kSectionZlib)) return s.stored;
  if (s.stored.size() < 8) return std::nullopt;
  uint64_t size;
  std::memcpy(&size, s.stored.data(), 8);
  if (size > kMaxInflated) return std::nullopt;
  Bytes out(size);
  uLongf len = size;
  if (uncompress(out.data(), &len, s.stored.data() + 8, s.stored.size() - 8) != Z_OK) return std::nullopt;
  out.resize(len);
  return out;
}

// Level 1: fast on megabytes of repeats, which it still stores at hundreds to one.
void store_compressed(Section& s, const Bytes& payload, uint64_t stated) {
  uLongf len = compressBound(payload.size());
  Bytes z(8 + len);
  std::memcpy(z.data(), &stated, 8);
  compress2(z.data() + 8, &len, payload.data(), payload.size(), 1);
  z.resize(8 + len);
  s.stored = std::move(z);
  s.flags |= trace::kSectionZlib;
}

// A zlib bomb: a run of the payload (records, nodes, stacks) repeated up to thousands of times.
bool bomb(File& f, std::minstd_rand& rng) {
  Section& s = f.sections[rng() % f.sections.size()];
  auto payload = payload_of(s);
  if (!payload || payload.value().size() < 8) return false;
  Bytes& p = *payload;
  size_t from = (rng() % p.size()) & ~size_t{7};
  size_t len = std::min<size_t>(p.size() - from, 8 * (1 + rng() % 64));
  // Log-uniform: mostly a few copies, sometimes thousands.
  size_t times = std::min<size_t>(size_t{1} << (rng() % 15), kMaxInflated / 2 / len);
  Bytes run(p.begin() + static_cast<long>(from), p.begin() + static_cast<long>(from + len));
  Bytes grown(p.begin(), p.begin() + static_cast<long>(from + len));
  // Exact copies store at hundreds to one, past the reader's ratio check; copies that differ in
  // a few bytes (as callsites differ in their hash) store at 10-30 to one, within it, and reach
  // the memory and stack-expansion bounds instead.
  size_t varied = rng() % 2 ? 0 : 1 + rng() % 4;
  for (size_t i = 0; i < times; ++i) {
    grown.insert(grown.end(), run.begin(), run.end());
    for (size_t v = 0; v < varied; ++v) {
      grown[grown.size() - len + (v * 7919 + 3) % len] ^= static_cast<uint8_t>(rng());
    }
  }
  grown.insert(grown.end(), p.begin() + static_cast<long>(from + len), p.end());
  // Mostly the true size; sometimes a lie either way, which the reader must also survive.
  uint64_t stated = grown.size();
  if (rng() % 4 == 0) stated = rng() % 2 ? stated * (2 + rng() % 1000) : stated / (2 + rng() % 8);
  store_compressed(s, grown, stated);
  return true;
}

// Callsites repeated whole, each copy with its own stack hash (the low 1-8 bytes varied): valid
// records that zlib stores at 15-40 to one, so the reader's memory and stack-expansion bounds
// are met by traces it would otherwise accept.
bool repeat_callsites(File& f, std::minstd_rand& rng) {
  auto s = std::find_if(f.sections.begin(), f.sections.end(),
                        [](const Section& x) { return x.type == trace::kCallsites; });
  if (s == f.sections.end()) return false;
  auto payload = payload_of(*s);
  if (!payload) return false;
  Bytes& p = *payload;
  std::vector<size_t> starts;  // record boundaries, then the end of the last whole record
  for (size_t at = 0; p.size() - at >= sizeof(trace::CallsiteRecord);) {
    trace::CallsiteRecord r;
    std::memcpy(&r, p.data() + at, sizeof r);
    size_t next = at + sizeof r + (r.flags & trace::kCallsiteTreeFrames ? 8 : size_t{r.depth} * 8);
    if (next > p.size()) break;
    starts.push_back(at);
    at = next;
    if (p.size() - at < sizeof(trace::CallsiteRecord)) starts.push_back(at);
  }
  if (starts.size() < 2) return false;
  size_t first = rng() % (starts.size() - 1);
  size_t last = std::min(starts.size() - 1, first + 1 + rng() % 4);
  Bytes run(p.begin() + static_cast<long>(starts[first]), p.begin() + static_cast<long>(starts[last]));
  std::vector<size_t> records(starts.begin() + static_cast<long>(first), starts.begin() + static_cast<long>(last));
  size_t times = std::min<size_t>(size_t{1} << (rng() % 15), kMaxInflated / 2 / run.size());
  uint64_t mask = ~uint64_t{0} >> (8 * (7 - rng() % 8));
  Bytes grown(p.begin(), p.begin() + static_cast<long>(starts[last]));
  for (size_t i = 1; i <= times; ++i) {
    size_t base = grown.size();
    grown.insert(grown.end(), run.begin(), run.end());
    for (size_t r : records) {
      uint64_t hash;
      std::memcpy(&hash, grown.data() + base + r - starts[first], 8);
      hash ^= (i * 0x9e3779b97f4a7c15) & mask;
      std::memcpy(grown.data() + base + r - starts[first], &hash, 8);
    }
  }
  grown.insert(grown.end(), p.begin() + static_cast<long>(starts[last]), p.end());
  store_compressed(*s, grown, grown.size());
  return true;
}

// A size or count set far beyond the bytes: a section's stated size, its inflated size, or a
// 32- or 64-bit field of its payload (headers, counts, lengths, tree links).
bool inflate_field(File& f, std::minstd_rand& rng) {
  static constexpr uint64_t kValues[] = {UINT32_MAX, INT32_MAX, 0x10000, 0x1000000, uint64_t{1} << 40, UINT64_MAX};
  Section& s = f.sections[rng() % f.sections.size()];
  uint64_t value = kValues[rng() % std::size(kValues)];
  if ((s.flags & trace::kSectionZlib) && s.stored.size() >= 8 && rng() % 3 == 0) {
    uint64_t size;
    std::memcpy(&size, s.stored.data(), 8);
    size = rng() % 2 ? value : size * (2 + rng() % 64);
    std::memcpy(s.stored.data(), &size, 8);
    return true;
  }
  auto payload = payload_of(s);
  if (!payload || payload.value().size() < 8) return false;
  Bytes& p = *payload;
  size_t at = (rng() % (p.size() - 7)) & ~size_t{3};
  if (rng() % 2) {
    auto v32 = static_cast<uint32_t>(value);
    std::memcpy(p.data() + at, &v32, 4);
  } else {
    std::memcpy(p.data() + at, &value, std::min<size_t>(8, p.size() - at));
  }
  if (s.flags & trace::kSectionZlib) {
    store_compressed(s, p, p.size());
  } else {
    s.stored = p;
  }
  return true;
}

// Compressed sections hide their records from byte mutations: store one uncompressed, or the
// reverse, so both forms get explored.
bool toggle_compression(File& f, std::minstd_rand& rng) {
  Section& s = f.sections[rng() % f.sections.size()];
  auto payload = payload_of(s);
  if (!payload) return false;
  if (s.flags & trace::kSectionZlib) {
    s.stored = *payload;
    s.flags &= ~uint32_t{trace::kSectionZlib};
  } else {
    store_compressed(s, *payload, payload->size());
  }
  return true;
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  std::minstd_rand rng(seed);
  unsigned choice = rng() % 10;
  if (choice < 4) {
    if (auto f = split(data, size)) {
      bool done = choice == 0   ? bomb(*f, rng)
                  : choice == 1 ? repeat_callsites(*f, rng)
                  : choice == 2 ? inflate_field(*f, rng)
                                : toggle_compression(*f, rng);
      Bytes out = done ? join(*f) : Bytes();
      if (done && out.size() <= max_size) {
        std::memcpy(data, out.data(), out.size());
        return out.size();
      }
    }
  }
  size = LLVMFuzzerMutate(data, size, max_size);
  // Keep file_size consistent most of the time, so that the sections get parsed at all.
  if (size >= sizeof(trace::FileHeader) && rng() % 8) {
    uint64_t file_size = size;
    std::memcpy(data + offsetof(trace::FileHeader, file_size), &file_size, 8);
  }
  return size;
}
